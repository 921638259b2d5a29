/**
 * The node's DNS process (`corelet dns-server`, started by the agent): the DNS server of
 * dns-server.ts on the cluster DNS address, in a process of its own so that an agent restart (kill -9,
 * crash, upgrade, `systemctl restart`) is no DNS outage on the node and no pod's query load runs on
 * the agent's event loop. As conmon for containers, it outlives the agent that started it: it keeps
 * answering from the last view it was given while no agent is attached.
 *
 * The agent feeds it over a unix socket (feed.ts: a snapshot on every (re)connect, then deltas). One
 * agent at a time: a new connection replaces the previous one. Every line is validated; a bad one
 * drops the connection (the agent reconnects and sends a fresh snapshot).
 */
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { messageOf, type Logger } from '../../lib/index.js';
import { startDnsServer, type RunningDnsServer } from './dns-server.js';
import { MemoryServiceView, type DnsReverseEntry, type DnsService, type ServiceView } from './service-view.js';
import { applyFeedOp, FEED_MAX_SNAPSHOT_OPS, FEED_PROTOCOL, LineSplitter, parseFeedOp, type DnsProcessSettings, type HelloMessage } from './feed.js';
import { SourceAcl } from './source-acl.js';

let cachedBuild: string | undefined;
/**
 * This build of the DNS process: a hash of this folder's compiled modules. An agent finding a DNS
 * process of another build (an upgrade) replaces it.
 */
export function dnsBuildId(): string {
  if (cachedBuild !== undefined) return cachedBuild;
  const dir = dirname(fileURLToPath(import.meta.url));
  const h = createHash('sha256');
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.js')).sort()) h.update(f).update(readFileSync(join(dir, f)));
  cachedBuild = h.digest('hex').slice(0, 16);
  return cachedBuild;
}

/** The files of a node's DNS process, in its folder (the agent's ROOT/dns). */
export function dnsProcessPaths(dir: string): { socket: string; pidFile: string; log: string } {
  return { socket: join(dir, 'dns.sock'), pidFile: join(dir, 'dns.pid'), log: join(dir, 'dns.log') };
}

/** A view whose contents are swapped whole when a snapshot commits; its generation moves on every write and swap. */
class SwappableView implements ServiceView {
  private gen = 0;
  /** A snapshot was committed: until then the view is empty for want of data, not because names don't exist. */
  private complete = false;
  constructor(public current: MemoryServiceView) {}
  ready(): boolean {
    return this.complete;
  }
  /** Replaces the contents with a committed snapshot. */
  swap(next: MemoryServiceView): void {
    this.current = next;
    this.complete = true;
    this.touch();
  }
  service(namespace: string, name: string): DnsService | undefined {
    return this.current.service(namespace, name);
  }
  hasNamespace(namespace: string): boolean {
    return this.current.hasNamespace(namespace);
  }
  reverse(ip: string): readonly DnsReverseEntry[] {
    return this.current.reverse(ip);
  }
  generation(): number {
    return this.gen;
  }
  touch(): void {
    this.gen++;
  }
}

export interface DnsProcessOptions {
  readonly settings: DnsProcessSettings;
  /** The folder of the socket and pidfile (created 0700). */
  readonly dir: string;
  readonly logger: Logger;
  /** Tests: the upstreams' port, the node's addresses. */
  readonly upstreamPort?: number;
  readonly localAddresses?: () => string[];
}

export interface RunningDnsProcess {
  readonly server: RunningDnsServer;
  /** The view answered from now (tests). */
  view(): MemoryServiceView;
  /** Whether an agent is connected. */
  attached(): boolean;
  /** Resolves when an agent asked it to stop (`shutdown`). */
  readonly shutdown: Promise<void>;
  close(): Promise<void>;
}

/** Starts the DNS server and the feed socket, writes the pidfile. */
export async function runDnsProcess(opts: DnsProcessOptions): Promise<RunningDnsProcess> {
  const log = opts.logger;
  const { socket: socketPath, pidFile } = dnsProcessPaths(opts.dir);
  mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
  chmodSync(opts.dir, 0o700);
  const view = new SwappableView(new MemoryServiceView());
  const acl = new SourceAcl([], opts.localAddresses);
  const server = await startDnsServer({
    view,
    clusterDomain: opts.settings.clusterDomain,
    host: opts.settings.host,
    port: opts.settings.port,
    resolvConfPath: opts.settings.resolvConf,
    upstreamPort: opts.upstreamPort,
    allowSource: (a) => acl.allows(a),
    logger: log,
  });

  let current: net.Socket | undefined;
  let signalShutdown!: () => void;
  const shutdown = new Promise<void>((r) => (signalShutdown = r));

  const feed = net.createServer((sock) => {
    if (current) {
      log.info('a new agent connected: the previous connection is closed');
      current.destroy();
    }
    current = sock;
    log.info('agent attached');
    const hello: HelloMessage = { op: 'hello', protocol: FEED_PROTOCOL, build: dnsBuildId(), pid: process.pid, settings: opts.settings };
    sock.write(`${JSON.stringify(hello)}\n`);
    sock.setEncoding('utf8');
    const lines = new LineSplitter();
    let pending: MemoryServiceView | undefined;
    let pendingOps = 0;
    const drop = (why: string) => {
      log.warn({ err: why }, 'feed: bad message from the agent; connection dropped (it reconnects with a snapshot)');
      sock.destroy();
    };
    sock.on('data', (chunk: string) => {
      if (sock.destroyed) return;
      let got: string[];
      try {
        got = lines.push(chunk);
      } catch (err) {
        return drop(messageOf(err));
      }
      for (const line of got) {
        let op;
        try {
          op = parseFeedOp(line);
        } catch (err) {
          return drop(messageOf(err));
        }
        switch (op.op) {
          case 'begin':
            pending = new MemoryServiceView();
            pendingOps = 0;
            break;
          case 'commit':
            if (!pending) return drop('commit without begin');
            view.swap(pending);
            log.info({ services: pending.snapshot().services.length }, 'feed: snapshot applied');
            pending = undefined;
            break;
          case 'allow':
            acl.setCidrs(op.cidrs);
            break;
          case 'shutdown':
            log.info('feed: the agent asked this DNS process to stop');
            signalShutdown();
            return;
          default:
            if (pending) {
              if (++pendingOps > FEED_MAX_SNAPSHOT_OPS) return drop(`a snapshot of more than ${FEED_MAX_SNAPSHOT_OPS} objects`);
              applyFeedOp(pending, op);
            } else {
              applyFeedOp(view.current, op);
              view.touch();
            }
        }
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      if (current === sock) {
        current = undefined;
        log.info('agent detached; answering from the last view');
      }
    });
  });

  try {
    rmSync(socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      feed.once('error', reject);
      feed.listen(socketPath, () => {
        feed.off('error', reject);
        resolve();
      });
    });
    chmodSync(socketPath, 0o600);
  } catch (err) {
    await server.close();
    throw err;
  }
  feed.on('error', (err) => log.warn({ err: messageOf(err) }, 'feed socket error'));
  writeFileSync(`${pidFile}.tmp`, `${process.pid}\n`, { mode: 0o600 });
  renameSync(`${pidFile}.tmp`, pidFile);
  log.info({ socket: socketPath, pid: process.pid, build: dnsBuildId() }, 'node DNS process ready');

  let closed = false;
  return {
    server,
    view: () => view.current,
    attached: () => current !== undefined,
    shutdown,
    close: async () => {
      if (closed) return;
      closed = true;
      current?.destroy();
      await new Promise<void>((r) => feed.close(() => r()));
      await server.close();
      try {
        if (readFileSync(pidFile, 'utf8').trim() === String(process.pid)) rmSync(pidFile, { force: true });
      } catch {
        // gone already
      }
      try {
        if (statSync(socketPath).isSocket()) rmSync(socketPath, { force: true });
      } catch {
        // gone already (net.Server.close removes it)
      }
    },
  };
}
