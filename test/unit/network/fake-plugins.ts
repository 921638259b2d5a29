/**
 * Fake CNI plugins for unit tests: small shell scripts that record their CNI_* environment and stdin
 * in a log dir and print whatever the test set for that command.
 */
import { chmod, mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One recorded plugin invocation. */
export interface FakeCall {
  plugin: string;
  command: string;
  env: Record<string, string>;
  stdin: Record<string, unknown>;
}

/** What a fake prints and how it exits for one command. */
export interface FakeBehaviour {
  stdout?: string;
  stderr?: string;
  exitCode?: number;
  /** Shell run (sourced) before printing, e.g. to hang or die of a signal. */
  script?: string;
}

/** A temp dir with a bin dir of fakes and a log of their calls. */
export class FakePlugins {
  private constructor(
    readonly root: string,
    readonly binDir: string,
    private readonly logDir: string,
  ) {}

  static async create(): Promise<FakePlugins> {
    const root = await mkdtemp(join(tmpdir(), 'corelet-cni-unit-'));
    const binDir = join(root, 'bin');
    const logDir = join(root, 'log');
    await mkdir(binDir);
    await mkdir(logDir);
    return new FakePlugins(root, binDir, logDir);
  }

  /** Installs a fake named `name`; it prints `{}`-less nothing and exits 0 unless told otherwise. */
  async add(name: string, behaviour: { ADD?: FakeBehaviour; DEL?: FakeBehaviour } = {}): Promise<void> {
    const script = `#!/bin/sh
log='${this.logDir}'
n=$(cat "$log/seq" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" > "$log/seq"
cat > "$log/$n.${name}.$CNI_COMMAND.stdin"
env | grep '^CNI_' > "$log/$n.${name}.$CNI_COMMAND.env"
me='${join(this.binDir, name)}'
[ -f "$me.$CNI_COMMAND.sh" ] && . "$me.$CNI_COMMAND.sh"
[ -f "$me.$CNI_COMMAND.stdout" ] && cat "$me.$CNI_COMMAND.stdout"
[ -f "$me.$CNI_COMMAND.stderr" ] && cat "$me.$CNI_COMMAND.stderr" >&2
exit $(cat "$me.$CNI_COMMAND.rc" 2>/dev/null || echo 0)
`;
    const path = join(this.binDir, name);
    await writeFile(path, script);
    await chmod(path, 0o755);
    // Re-adding a fake replaces its behaviour entirely.
    for (const command of ['ADD', 'DEL']) {
      for (const what of ['stdout', 'stderr', 'rc', 'sh']) await rm(`${path}.${command}.${what}`, { force: true });
    }
    for (const [command, b] of Object.entries(behaviour)) {
      if (b.stdout !== undefined) await writeFile(`${path}.${command}.stdout`, b.stdout);
      if (b.stderr !== undefined) await writeFile(`${path}.${command}.stderr`, b.stderr);
      if (b.exitCode !== undefined) await writeFile(`${path}.${command}.rc`, String(b.exitCode));
      if (b.script !== undefined) await writeFile(`${path}.${command}.sh`, b.script);
    }
  }

  /** Every call so far, in order. */
  async calls(): Promise<FakeCall[]> {
    const files = (await readdir(this.logDir)).filter((f) => f.endsWith('.stdin'));
    const parsed = files.map((f) => {
      const [seq, plugin, command] = f.split('.');
      return { seq: Number(seq), plugin: plugin!, command: command!, file: f };
    });
    parsed.sort((a, b) => a.seq - b.seq);
    const out: FakeCall[] = [];
    for (const p of parsed) {
      const stdinText = await readFile(join(this.logDir, p.file), 'utf8');
      const envText = await readFile(join(this.logDir, p.file.replace(/\.stdin$/, '.env')), 'utf8');
      const env: Record<string, string> = {};
      for (const line of envText.split('\n')) {
        const eq = line.indexOf('=');
        if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
      }
      out.push({ plugin: p.plugin, command: p.command, env, stdin: JSON.parse(stdinText) as Record<string, unknown> });
    }
    return out;
  }

  /** Forgets the calls so far. */
  async clearCalls(): Promise<void> {
    await rm(this.logDir, { recursive: true, force: true });
    await mkdir(this.logDir);
  }

  async cleanup(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}

/** A 1.0.0 result as a bridge plugin prints it: bridge, veth, then eth0 in the sandbox holding the IPs. */
export function bridgeLikeResult(netns: string, ips: string[], cniVersion = '1.0.0'): Record<string, unknown> {
  return {
    cniVersion,
    interfaces: [
      { name: 'br0', mac: '46:3a:0d:7a:fa:36' },
      { name: 'veth1234', mac: '82:0e:00:23:87:1f' },
      { name: 'eth0', mac: 'd2:44:77:07:0f:a3', sandbox: netns },
    ],
    ips: ips.map((address) => ({ interface: 2, address, gateway: address.includes(':') ? 'fd00::1' : '10.1.0.1' })),
    routes: [{ dst: '0.0.0.0/0' }],
    dns: {},
  };
}
