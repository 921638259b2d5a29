/**
 * The side-effecting half of the CNI executor: finding plugin binaries and running a config list
 * through them (ADD in order, DEL in reverse).
 */
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { failedPrecondition, runProgram, type Logger } from '../../lib/index.js';
import { pluginBinaryNames, type NetworkConfigList } from './cni-config.js';
import {
  cniEnv,
  delTakesPrevResult,
  parseCniResult,
  pluginFailure,
  pluginStdin,
  type CniCommand,
  type CniRuntimeArgs,
  type PluginOutput,
} from './cni-protocol.js';
import type { CniResult } from './types.js';
import { HostOpError, type HostHelper } from '../host-helper.js';

/** The first executable file named `name` in binDirs, or undefined. */
export async function findPluginBinary(binDirs: readonly string[], name: string): Promise<string | undefined> {
  for (const dir of binDirs) {
    const path = join(dir, name);
    try {
      await access(path, constants.X_OK);
      return path;
    } catch {
      // not in this dir; try the next
    }
  }
  return undefined;
}

/** Runs one plugin binary with the CNI environment and its config on stdin. */
export async function runPlugin(
  binary: string,
  env: Record<string, string>,
  stdin: string,
  timeoutMs: number,
  helper?: HostHelper,
): Promise<PluginOutput> {
  // The daemon's env is kept (plugins run iptables and friends from PATH); the CNI_* keys override.
  if (helper) {
    // run by the host helper: no fork of the daemon (host-helper.ts)
    try {
      const h = await helper.exec(binary, [], { env: { ...process.env, ...env }, input: stdin, timeoutMs });
      const why = h.timedOut ? `${binary} timed out after ${timeoutMs} ms` : h.signal ? `${binary} was killed with ${h.signal}` : '';
      return { exitCode: h.exitCode, stdout: h.stdout.toString('utf8'), stderr: h.stderr.toString('utf8') || (h.exitCode === undefined ? why : ''), timedOut: h.timedOut };
    } catch (err) {
      if (!(err instanceof HostOpError)) throw err;
      return { exitCode: undefined, stdout: '', stderr: err.message, timedOut: false };
    }
  }
  const r = await runProgram(binary, [], { env: { ...process.env, ...env }, input: stdin, timeoutMs });
  // No exit code: it could not be started or died of a signal; the short message says which.
  const stderr = r.stderr || (r.exitCode === undefined ? r.shortMessage : '');
  return { exitCode: r.exitCode, stdout: r.stdout, stderr, timedOut: r.timedOut };
}

/** Options of a CniExecutor. */
export interface CniExecutorOptions {
  binDirs: readonly string[];
  /** Longest a single plugin invocation may take before it is killed. */
  timeoutMs: number;
  logger: Logger;
  /** Runs the plugins (default: a spawn of this process each). */
  helper?: HostHelper;
}

/** Runs CNI config lists. */
export class CniExecutor {
  constructor(private readonly opts: CniExecutorOptions) {}

  /** Names of binaries the list needs (plugins and their IPAM) that no bin dir has. */
  async missingBinaries(list: NetworkConfigList): Promise<string[]> {
    const names = pluginBinaryNames(list);
    const found = await Promise.all(names.map((n) => findPluginBinary(this.opts.binDirs, n)));
    return names.filter((_, i) => found[i] === undefined);
  }

  private async invoke(command: CniCommand, list: NetworkConfigList, index: number, rt: CniRuntimeArgs, prevResult: unknown): Promise<string> {
    const plugin = list.plugins[index]!;
    const binary = await findPluginBinary(this.opts.binDirs, plugin.type);
    if (!binary) {
      throw failedPrecondition(`CNI plugin "${plugin.type}" not found in ${this.opts.binDirs.join(', ')}`);
    }
    const stdin = JSON.stringify(pluginStdin(list, plugin, prevResult, rt.runtimeConfig));
    const started = performance.now();
    const out = await runPlugin(binary, cniEnv(command, rt, this.opts.binDirs), stdin, this.opts.timeoutMs, this.opts.helper);
    this.opts.logger.debug(
      { plugin: plugin.type, command, containerId: rt.containerId, exitCode: out.exitCode, ms: Math.round(performance.now() - started) },
      'CNI plugin ran',
    );
    if (out.exitCode !== 0 || out.timedOut) throw pluginFailure(plugin.type, command, out);
    return out.stdout;
  }

  /**
   * ADD through the list: each plugin gets the previous one's result as prevResult; the last
   * result is the list's. Returns it raw (to cache and hand to DEL as it was) and parsed.
   */
  async add(list: NetworkConfigList, rt: CniRuntimeArgs): Promise<{ raw: unknown; result: CniResult }> {
    let raw: unknown = undefined;
    for (let i = 0; i < list.plugins.length; i++) {
      const type = list.plugins[i]!.type;
      const stdout = await this.invoke('ADD', list, i, rt, raw);
      try {
        raw = JSON.parse(stdout);
      } catch {
        throw pluginFailure(type, 'ADD', { exitCode: 0, stdout: '', stderr: `printed no JSON result: ${stdout}`, timedOut: false });
      }
      parseCniResult(raw, `CNI plugin ${type} ADD`);
    }
    return { raw, result: parseCniResult(raw, `network ${list.name}`) };
  }

  /**
   * DEL through the list in reverse order. From CNI 0.4.0 on, every plugin gets the ADD result of
   * the whole list as prevResult (when it is known). Stops at the first failure, so a retry
   * (with the cache still in place) runs the whole DEL again; DEL is idempotent per spec.
   */
  async del(list: NetworkConfigList, rt: CniRuntimeArgs, addResult: unknown): Promise<void> {
    const prev = addResult !== undefined && delTakesPrevResult(list.cniVersion) ? addResult : undefined;
    for (let i = list.plugins.length - 1; i >= 0; i--) {
      await this.invoke('DEL', list, i, rt, prev);
    }
  }
}
