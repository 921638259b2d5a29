import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Conmon,
  OciRuntime,
  isProcessAlive,
  type ConmonCreateOptions,
  type OciProcess,
} from '../../../src/runtime/oci/index.js';
import { Cgroups } from '../../../src/host/index.js';
import { silentLogger } from '../../../src/lib/index.js';

export const RUNC = '/usr/sbin/runc';
export const CONMON = '/usr/bin/conmon';
export const CGROUP_PARENT = '/corelet-test';

const APPLETS = ['sh', 'echo', 'sleep', 'cat', 'head', 'tail', 'mkfifo', 'dd', 'true'];
const CAPS = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID', 'CAP_NET_BIND_SERVICE'];

/** One test container: its folders, config and the adapters driving it. cleanup() removes it all. */
export interface TestContainer {
  id: string;
  dir: string;
  bundle: string;
  process: OciProcess;
  cgroupsPath: string;
  create: ConmonCreateOptions;
  runtime: OciRuntime;
  conmon: Conmon;
  cgroups: Cgroups;
  conmonPid?: number;
  cleanup(): Promise<void>;
}

/**
 * A busybox bundle in a temp folder with a hand-written minimal config.json: host network, new
 * pid/ipc/uts/mount namespaces, cgroupsPath /corelet-test/<id>.
 */
export async function makeContainer(args: string[], resources: object = {}): Promise<TestContainer> {
  const id = `corelet-it-${randomBytes(6).toString('hex')}`;
  const dir = await mkdtemp(join(tmpdir(), 'corelet-oci-'));
  const bundle = join(dir, 'bundle');
  const rootfs = join(bundle, 'rootfs');
  for (const d of ['bin', 'proc', 'dev', 'sys', 'tmp']) await mkdir(join(rootfs, d), { recursive: true });
  await copyFile('/bin/busybox', join(rootfs, 'bin', 'busybox'));
  for (const a of APPLETS) await symlink('busybox', join(rootfs, 'bin', a));
  const cgroupsPath = `${CGROUP_PARENT}/${id}`;
  const process: OciProcess = {
    terminal: false,
    user: { uid: 0, gid: 0 },
    args,
    env: ['PATH=/bin', 'HOME=/'],
    cwd: '/',
    capabilities: { bounding: CAPS, effective: CAPS, permitted: CAPS },
    noNewPrivileges: true,
  };
  const config = {
    ociVersion: '1.0.2',
    process,
    root: { path: 'rootfs', readonly: false },
    hostname: 'corelet-test',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    ],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      cgroupsPath,
      resources,
      maskedPaths: ['/proc/kcore', '/proc/keys', '/sys/firmware'],
      readonlyPaths: ['/proc/sys', '/proc/sysrq-trigger'],
    },
  };
  await writeFile(join(bundle, 'config.json'), JSON.stringify(config, null, 2));

  const runtimeRoot = join(dir, 'runc-root');
  const runtime = new OciRuntime({ binary: RUNC, root: runtimeRoot, logger: silentLogger, tmpDir: dir });
  const conmon = new Conmon({ conmonPath: CONMON, runtimePath: RUNC, runtimeRoot, logger: silentLogger });
  const cgroups = new Cgroups();
  const persistDir = join(dir, 'persist');
  const create: ConmonCreateOptions = {
    id,
    name: `test_${id}`,
    bundle,
    logPath: join(dir, 'logs', '0.log'),
    exitDir: join(dir, 'exits'),
    socketDir: join(dir, 'sockets'),
    persistDir,
    pidFile: join(persistDir, 'pid'),
    conmonPidFile: join(persistDir, 'conmon.pid'),
  };
  const c: TestContainer = {
    id,
    dir,
    bundle,
    process,
    cgroupsPath,
    create,
    runtime,
    conmon,
    cgroups,
    async cleanup() {
      await runtime.delete(id, { force: true }).catch(() => undefined);
      if (c.conmonPid !== undefined && (await isProcessAlive(c.conmonPid))) {
        try {
          globalThis.process.kill(c.conmonPid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await cgroups.removeIfEmpty(cgroupsPath).catch(() => undefined);
      await cgroups.removeIfEmpty(CGROUP_PARENT).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return c;
}

/** Polls check() every 50 ms until it returns a value other than undefined, or limitMs passes. */
export async function eventually<T>(check: () => Promise<T | undefined>, limitMs = 10_000): Promise<T | undefined> {
  const until = Date.now() + limitMs;
  for (;;) {
    const v = await check();
    if (v !== undefined || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}
