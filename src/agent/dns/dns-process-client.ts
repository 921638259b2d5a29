/**
 * The agent's side of the node's DNS process (dns-process.ts): finds the running one (its socket and
 * pidfile in the agent's ROOT/dns) or starts one detached (a new session, stdio to ROOT/dns/dns.log,
 * so it outlives the agent as conmon does), checks its hello (a process of another build or other
 * settings is replaced), and feeds it: the `allow` list, then, once the agent's own view is complete
 * (the scheduler's first snapshot applied), a snapshot of it and every write after. When the
 * connection drops (the DNS process died), it starts or finds one again and sends a new snapshot.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, renameSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { failedPrecondition, messageOf, type Logger } from '../../lib/index.js';
import { dnsBuildId, dnsProcessPaths } from './dns-process.js';
import { FEED_PROTOCOL, LineSplitter, parseHello, snapshotOps, type DnsProcessSettings, type FeedOp, type HelloMessage } from './feed.js';
import type { DnsEndpoint, DnsServiceSpec, MemoryServiceView, ServiceViewWriter } from './service-view.js';

/** Unsent feed bytes before the connection is given up (the DNS process is stuck): a reconnect sends a snapshot. */
const MAX_UNSENT = 64 * 1024 * 1024;
/** dns.log is moved to dns.log.1 at a start when it is larger than this. */
const LOG_ROTATE_BYTES = 10 * 1024 * 1024;

export interface DnsProcessLinkOptions {
  readonly settings: DnsProcessSettings;
  /** The DNS process's folder (the agent's ROOT/dns). */
  readonly dir: string;
  /** The agent's view: the snapshot sent on every (re)connect. */
  readonly view: MemoryServiceView;
  /** The sources answered besides the node's own addresses (IPv4 CIDRs: the cluster's pod CIDR, the node's addresses). */
  readonly allow: () => string[];
  readonly logger: Logger;
  /** How to start the DNS process (default: this node binary's `corelet dns-server`). */
  readonly command?: readonly string[];
  readonly logLevel?: string;
  /** How long a new DNS process gets to answer on its socket (10 s). */
  readonly startTimeoutMs?: number;
  /**
   * How long a running DNS process that accepted the connection gets to say its hello before it is
   * taken as wedged and killed (30 s; a warning is logged after 2 s). A busy process (a flood of
   * large answers) is slow, not dead: killing it would empty DNS until the first snapshot.
   */
  readonly helloTimeoutMs?: number;
  /**
   * `systemd-run` to start the DNS process in a transient scope unit of its own (outside the agent
   * unit's cgroup, so `systemctl stop/restart corelet-agent` with the default KillMode=control-group
   * leaves it running); null: never (plain detached child). Default: /usr/bin/systemd-run (or
   * /bin/systemd-run) when systemd runs the host (/run/systemd/system exists).
   */
  readonly systemdRun?: string | null;
}

/** `systemd-run` when systemd is the init (sd_booted(): /run/systemd/system exists), else undefined. */
function detectSystemdRun(): string | undefined {
  if (!existsSync('/run/systemd/system')) return undefined;
  return ['/usr/bin/systemd-run', '/bin/systemd-run'].find((p) => existsSync(p));
}

/** The `corelet dns-server` command line of this build. */
function defaultCommand(): string[] {
  return [process.execPath, fileURLToPath(new URL('../../cli/main.js', import.meta.url)), 'dns-server'];
}

/** A pause that keeps the process alive (a start or stop in progress is awaited); `unref` for background retries. */
/** A connection dropped within this long of attaching counts as a quick drop (back-off). */
const QUICK_DROP_MS = 2_000;

function sleep(ms: number, unref = false): Promise<void> {
  return new Promise((r) => {
    const t = setTimeout(r, ms);
    if (unref) t.unref();
  });
}

/** The pid in the pidfile when that process is a DNS process of this folder (its command line names the folder). */
export function runningDnsPid(dir: string): number | undefined {
  const { pidFile } = dnsProcessPaths(dir);
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid < 2) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/\) Z /.test(stat)) return undefined;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (!cmdline.includes('dns-server') || !cmdline.includes(dir)) return undefined; // a pid reused by another process
  } catch {
    return undefined;
  }
  return pid;
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try {
      if (/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return true;
    } catch {
      return true;
    }
    await sleep(50);
  }
  return false;
}

/** Stops the DNS process of `dir` (SIGTERM, then SIGKILL after 5 s); false when none ran. */
export async function stopDnsProcess(dir: string, logger: Logger): Promise<boolean> {
  const pid = runningDnsPid(dir);
  if (pid === undefined) return false;
  /** A signal to a process that exited meanwhile (ESRCH) is no error: it is stopped. */
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  };
  signal('SIGTERM');
  if (!(await waitGone(pid, 5000))) {
    logger.warn({ pid }, 'the DNS process did not stop on SIGTERM; killing it');
    signal('SIGKILL');
    await waitGone(pid, 2000);
  }
  logger.info({ pid }, 'node DNS process stopped');
  return true;
}

type Attached = { sock: net.Socket; hello: HelloMessage };
/**
 * Connects to the socket and reads the hello. `connected`: the socket accepted the connection but
 * no valid hello came in time (a busy or wedged process); `none`: nothing accepted it (no socket,
 * ECONNREFUSED: no process listens) or the connection closed.
 */
function attach(socket: string, helloTimeoutMs: number, onSlow?: () => void, slowAfterMs = 2000): Promise<Attached | 'none' | 'connected'> {
  return new Promise((resolve) => {
    if (!existsSync(socket)) return resolve('none');
    const sock = net.connect(socket);
    const lines = new LineSplitter(64 * 1024);
    let connected = false;
    let slowTimer: NodeJS.Timeout | undefined;
    const done = (v: Attached | 'none' | 'connected') => {
      clearTimeout(timer);
      clearTimeout(slowTimer);
      sock.removeAllListeners('data');
      sock.removeAllListeners('error');
      sock.removeAllListeners('close');
      sock.removeAllListeners('connect');
      if (typeof v === 'string') sock.destroy();
      else sock.on('error', () => undefined); // never an unhandled 'error' before the owner listens
      resolve(v);
    };
    const timer = setTimeout(() => done(connected ? 'connected' : 'none'), helloTimeoutMs);
    sock.on('connect', () => {
      connected = true;
      if (onSlow) slowTimer = setTimeout(onSlow, slowAfterMs);
    });
    sock.setEncoding('utf8');
    sock.on('error', () => done('none'));
    sock.on('close', () => done('none'));
    sock.on('data', (chunk: string) => {
      try {
        const first = lines.push(chunk)[0];
        if (first !== undefined) done({ sock, hello: parseHello(first) });
      } catch {
        done('none');
      }
    });
  });
}

const sameSettings = (a: DnsProcessSettings, b: DnsProcessSettings) => a.host === b.host && a.port === b.port && a.clusterDomain === b.clusterDomain && a.resolvConf === b.resolvConf;

export class DnsProcessLink implements ServiceViewWriter {
  private sock: net.Socket | undefined;
  private synced = false;
  private closed = false;
  private reconnecting = false;
  /** When the current connection was attached, and how many in a row were dropped soon after. */
  private attachedAt = 0;
  private quickDrops = 0;
  /** The DNS process's pid (the last one attached). */
  pid: number | undefined;

  constructor(private readonly opts: DnsProcessLinkOptions) {}

  /** Finds or starts the DNS process and attaches; throws when a new one cannot start (its log's last lines). */
  async start(): Promise<void> {
    await this.connect();
  }

  /** The agent's view is complete (the scheduler's first snapshot is in): send it, then every write. */
  markSynced(): void {
    if (this.synced) return;
    this.synced = true;
    this.sendSnapshot();
  }

  /** The accepted sources changed. */
  sendAllow(): void {
    this.send({ op: 'allow', cidrs: this.opts.allow() });
  }

  setService(spec: DnsServiceSpec): void {
    if (this.synced) this.send({ op: 'service', spec });
  }
  deleteService(namespace: string, name: string): void {
    if (this.synced) this.send({ op: 'delete-service', namespace, name });
  }
  setEndpointSlice(namespace: string, service: string, slice: string, endpoints: readonly DnsEndpoint[]): void {
    if (this.synced) this.send({ op: 'slice', namespace, service, slice, endpoints });
  }
  deleteEndpointSlice(namespace: string, slice: string): void {
    if (this.synced) this.send({ op: 'delete-slice', namespace, slice });
  }

  /** The agent stops: the connection closes, the DNS process keeps answering. */
  async close(): Promise<void> {
    this.closed = true;
    const s = this.sock;
    this.sock = undefined;
    if (!s) return;
    // what is queued is flushed, within a second (a stuck DNS process must not hold the agent's stop)
    await new Promise<void>((r) => {
      const t = setTimeout(() => {
        s.destroy();
        r();
      }, 1000);
      s.end(() => {
        clearTimeout(t);
        r();
      });
    });
  }

  private send(op: FeedOp): void {
    const s = this.sock;
    if (!s || s.destroyed) return;
    if (s.writableLength > MAX_UNSENT) {
      this.opts.logger.warn('the DNS process reads no more of its feed; reconnecting');
      s.destroy();
      return;
    }
    s.write(`${JSON.stringify(op)}\n`);
  }

  private sendSnapshot(): void {
    if (!this.sock) return;
    for (const op of snapshotOps(this.opts.view)) this.send(op);
  }

  private async connect(): Promise<void> {
    const { settings, dir, logger } = this.opts;
    const paths = dnsProcessPaths(dir);
    const helloMs = this.opts.helloTimeoutMs ?? 30_000;
    const found = await attach(paths.socket, helloMs, () =>
      logger.warn({ socket: paths.socket, waitMs: helloMs }, 'the node DNS process accepted the connection but has not said hello yet (busy?); waiting for it'),
    );
    let got: Attached | undefined = typeof found === 'string' ? undefined : found;
    if (got) {
      const why =
        got.hello.protocol !== FEED_PROTOCOL ? `protocol ${got.hello.protocol}` : got.hello.build !== dnsBuildId() ? `build ${got.hello.build}` : !sameSettings(got.hello.settings, settings) ? 'other settings' : undefined;
      if (why) {
        logger.info({ pid: got.hello.pid, reason: why }, 'replacing the node DNS process (another build or settings)');
        got.sock.write(`${JSON.stringify({ op: 'shutdown' })}\n`);
        got.sock.end();
        if (!(await waitGone(got.hello.pid, 5000))) {
          // The hello's pid is only what the peer said: kill it only when the pidfile names it and
          // its command line is a DNS process of this folder (a stale or lying pid is left alone).
          const pid = runningDnsPid(dir);
          if (pid === got.hello.pid) {
            try {
              process.kill(pid, 'SIGKILL');
            } catch {
              // gone
            }
            await waitGone(pid, 2000);
          } else {
            logger.warn({ helloPid: got.hello.pid, pidFile: pid }, 'the old node DNS process did not stop, and its hello pid is not the DNS process of the pidfile: not killing it');
          }
        }
        got = undefined;
      }
    } else {
      // A pidfile naming a live DNS process of ours: it refused the connection (its feed socket is
      // gone) or accepted it and said nothing for helloTimeoutMs (wedged). Either way it can't be fed.
      const stuck = runningDnsPid(dir);
      if (stuck !== undefined) {
        logger.warn(
          { pid: stuck, socket: paths.socket },
          found === 'connected' ? `the node DNS process accepted the connection but said no hello in ${helloMs} ms; killing it` : 'the node DNS process does not accept connections on its socket; killing it',
        );
        try {
          process.kill(stuck, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
        await waitGone(stuck, 2000);
      }
    }
    if (!got) got = await this.spawnProcess();
    this.adopt(got.sock, got.hello);
  }

  /**
   * Starts a DNS process: in a transient systemd scope when systemd runs the host (it then lives
   * outside the agent unit's cgroup), else detached; a scoped start that fails (systemd-run
   * refused it) is tried once more detached.
   */
  private async spawnProcess(): Promise<{ sock: net.Socket; hello: HelloMessage }> {
    const systemdRun = this.opts.systemdRun === undefined ? detectSystemdRun() : (this.opts.systemdRun ?? undefined);
    if (systemdRun === undefined) return await this.spawnOnce(undefined);
    try {
      return await this.spawnOnce(systemdRun);
    } catch (err) {
      this.opts.logger.warn(
        { err: messageOf(err) },
        'starting the node DNS process in a systemd scope failed; starting it as a plain detached child (a stop of the agent unit will stop it too)',
      );
      return await this.spawnOnce(undefined);
    }
  }

  private async spawnOnce(systemdRun: string | undefined): Promise<{ sock: net.Socket; hello: HelloMessage }> {
    const { settings, dir, logger } = this.opts;
    const paths = dnsProcessPaths(dir);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    try {
      if (statSync(paths.log).size > LOG_ROTATE_BYTES) renameSync(paths.log, `${paths.log}.1`);
    } catch {
      // no log yet
    }
    const [command, ...base] = this.opts.command ?? defaultCommand();
    let file = command!;
    let args = [...base, '--dir', dir, '--listen', settings.host, '--port', String(settings.port), '--cluster-domain', settings.clusterDomain, '--resolv-conf', settings.resolvConf];
    if (this.opts.logLevel) args.push('--log-level', this.opts.logLevel);
    if (systemdRun !== undefined) {
      // `--scope`: systemd-run puts itself in a new transient scope unit and execs the command there
      // (same pid, same netns, our stdio); the scope goes away with the process (--collect).
      // The unit name is unique: the scope of a process just replaced may not be collected yet.
      args = ['--scope', '--quiet', '--collect', `--unit=corelet-dns-${process.pid}-${Date.now()}`, `--description=corelet node DNS (${dir})`, '--', file, ...args];
      file = systemdRun;
    }
    const fd = openSync(paths.log, 'a', 0o600);
    let exited: string | undefined;
    try {
      const child = spawn(file, args, { detached: true, stdio: ['ignore', fd, fd] });
      child.on('exit', (code, signal) => (exited = signal ?? String(code)));
      child.on('error', (err) => (exited = messageOf(err)));
      child.unref();
      logger.info({ pid: child.pid, log: paths.log, ...(systemdRun === undefined ? {} : { systemdScope: true }) }, 'node DNS process started');
    } finally {
      closeSync(fd);
    }
    const until = Date.now() + (this.opts.startTimeoutMs ?? 10_000);
    while (Date.now() < until && exited === undefined) {
      const got = await attach(paths.socket, 1000);
      if (typeof got !== 'string') return got;
      await sleep(100);
    }
    let tail = '';
    try {
      tail = readFileSync(paths.log, 'utf8').trim().split('\n').slice(-3).join('\n');
    } catch {
      // no log
    }
    throw failedPrecondition(`the node DNS process ${exited !== undefined ? `exited (${exited})` : 'did not answer in time'}; ${paths.log}: ${tail}`);
  }

  private adopt(sock: net.Socket, hello: HelloMessage): void {
    if (this.closed) {
      sock.destroy();
      return;
    }
    this.sock = sock;
    this.pid = hello.pid;
    this.attachedAt = Date.now();
    sock.on('error', () => undefined);
    sock.on('data', () => undefined); // nothing but the hello comes from the DNS process
    sock.on('close', () => {
      if (this.sock !== sock) return;
      this.sock = undefined;
      if (!this.closed) {
        // Dropped soon after attaching (the process refusing what this agent sends, again and again):
        // back off, rather than resend the snapshot in a loop and fill both logs.
        this.quickDrops = Date.now() - this.attachedAt < QUICK_DROP_MS ? this.quickDrops + 1 : 0;
        const waitMs = this.quickDrops === 0 ? 0 : Math.min(500 * 2 ** (this.quickDrops - 1), 30_000);
        this.opts.logger.warn({ pid: hello.pid, retryInMs: waitMs }, 'the node DNS process connection closed; finding or starting one again');
        void this.reconnect(waitMs);
      }
    });
    this.opts.logger.info({ pid: hello.pid }, 'attached to the node DNS process');
    this.sendAllow();
    if (this.synced) this.sendSnapshot();
  }

  private async reconnect(waitMs = 0): Promise<void> {
    if (this.reconnecting) return;
    this.reconnecting = true;
    let delay = 500;
    try {
      if (waitMs > 0) await sleep(waitMs, true);
      while (!this.closed && !this.sock) {
        try {
          await this.connect();
        } catch (err) {
          this.opts.logger.warn({ err: messageOf(err), retryMs: delay }, 'the node DNS process cannot start; retrying');
          await sleep(delay, true);
          delay = Math.min(delay * 2, 5000);
        }
      }
    } finally {
      this.reconnecting = false;
    }
  }
}
