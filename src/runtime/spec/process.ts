/**
 * The process of a container: its argv, environment and working directory, merged from the CRI
 * request and the image config.
 */
import { invalidArgument } from '../../lib/index.js';

/** PATH when neither the image nor the CRI sets one. */
export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The argv (Docker's rules, as containerd applies them): a CRI command replaces the image
 * entrypoint and drops the image cmd; CRI args replace the image cmd. An image entrypoint of [""]
 * means "no entrypoint". Nothing at all to run is InvalidArgument.
 */
export function mergeArgs(
  cri: { command?: readonly string[]; args?: readonly string[] },
  image: { entrypoint?: readonly string[]; cmd?: readonly string[] },
): string[] {
  let command = [...(cri.command ?? [])];
  let args = [...(cri.args ?? [])];
  if (command.length === 0) {
    if (args.length === 0) args = [...(image.cmd ?? [])];
    const entrypoint = image.entrypoint ?? [];
    if (!(entrypoint.length === 1 && entrypoint[0] === '')) command = [...entrypoint];
  }
  const argv = [...command, ...args];
  if (argv.length === 0) throw invalidArgument('no command specified: neither the container config nor the image has an entrypoint or cmd');
  return argv;
}

function envKey(entry: string): string {
  const eq = entry.indexOf('=');
  return eq < 0 ? entry : entry.slice(0, eq);
}

/**
 * Layers overrides onto base: KEY=VALUE replaces an existing KEY in place or is appended; a bare
 * KEY (no "=") removes it.
 */
export function overrideEnv(base: readonly string[], overrides: readonly string[]): string[] {
  const out = [...base];
  for (const entry of overrides) {
    const key = envKey(entry);
    if (!key) continue;
    const at = out.findIndex((e) => envKey(e) === key);
    if (!entry.includes('=')) {
      if (at >= 0) out.splice(at, 1);
    } else if (at >= 0) {
      out[at] = entry;
    } else {
      out.push(entry);
    }
  }
  return out;
}

/**
 * The container environment: the default PATH, HOSTNAME, then the image env, then the CRI envs
 * (each overriding earlier ones by key).
 */
export function buildEnv(hostname: string, imageEnv: readonly string[] | undefined, criEnv: readonly { key: string; value: Uint8Array | string }[] | undefined): string[] {
  let env = [DEFAULT_PATH_ENV];
  env = overrideEnv(env, [`HOSTNAME=${hostname}`]);
  env = overrideEnv(env, imageEnv ?? []);
  env = overrideEnv(
    env,
    (criEnv ?? []).flatMap((kv, i) => (kv.key ? [`${kv.key}=${envValue(kv.value, i, kv.key)}`] : [])),
  );
  return env;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A CRI env value as text. CRI v1.37 made KeyValue.value bytes (v1.36 clients send a string: the
 * same wire type, so the same bytes); the OCI spec's env is JSON strings, so a value that is not
 * UTF-8 is refused rather than mangled.
 */
export function envValue(value: Uint8Array | string, i: number, key: string): string {
  if (typeof value === 'string') return value;
  try {
    return UTF8.decode(value);
  } catch {
    throw invalidArgument(`config.envs[${i}].value (${key}) is not valid UTF-8`);
  }
}

/** The working directory: the CRI's, else the image's, else "/". It must be absolute. */
export function workingDir(criDir: string | undefined, imageDir: string | undefined): string {
  const dir = criDir || imageDir || '/';
  if (!dir.startsWith('/')) throw invalidArgument(`working directory "${dir}" is not an absolute path`);
  return dir;
}
