/**
 * The local registry (shared/conformance/up.sh: 127.0.0.1:5000 on the host) for the soak's nodes.
 * Each node's runtime runs in the node's network namespace, where 127.0.0.1 is the namespace's own
 * loopback: a relay inside each namespace listens on 127.0.0.1:5000 and hands every connection to a
 * unix socket (sockets on paths cross network namespaces), which this process serves by connecting
 * to the host's 127.0.0.1:5000. So pods name `127.0.0.1:5000/...` images, pulled over plain HTTP as
 * any loopback registry, and nothing is exposed on the cluster's network. The relays are this test's
 * own processes, stopped by pid in stop(); `cluster.sh down` would also kill them with the netns.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { rm } from 'node:fs/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import type { ClusterHarness } from '../helpers/cluster-harness.js';

/** Runs inside a node's netns: 127.0.0.1:5000 → the unix socket named by argv[1]. */
const NETNS_SIDE = `
const net = require('node:net');
const path = process.argv[1];
net.createServer((c) => {
  const u = net.connect(path);
  c.pipe(u).pipe(c);
  c.on('error', () => u.destroy());
  u.on('error', () => c.destroy());
}).listen(5000, '127.0.0.1', () => console.log('listening'));
`;

function pipeBoth(a: Socket, b: Socket): void {
  a.pipe(b).pipe(a);
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
}

export class RegistryRelay {
  private server: Server | undefined;
  private readonly children: ChildProcess[] = [];

  constructor(private readonly cluster: ClusterHarness) {}

  get socketPath(): string {
    return `${this.cluster.dir}/registry.sock`;
  }

  /** Serves the unix socket and starts one relay per node; resolves when every relay listens. */
  async start(): Promise<void> {
    await rm(this.socketPath, { force: true });
    const server = (this.server = createServer((c) => pipeBoth(c, createConnection(5000, '127.0.0.1'))));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, () => resolve());
    });
    for (const n of this.cluster.nodes) {
      const child = spawn('nsenter', [`--net=/run/netns/${n.netns}`, process.execPath, '-e', NETNS_SIDE, this.socketPath], { stdio: ['ignore', 'pipe', 'pipe'] });
      this.children.push(child);
      await new Promise<void>((resolve, reject) => {
        let err = '';
        child.stderr!.on('data', (d) => (err += String(d)));
        child.stdout!.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`the registry relay in ${n.netns} exited (${code}): ${err.trim()}`)));
      });
    }
  }

  /** Stops the relays (by their pids) and the unix socket server. */
  async stop(): Promise<void> {
    for (const c of this.children.splice(0)) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await gone;
    }
    const server = this.server;
    this.server = undefined;
    // close() waits for open connections: they end with the relays, but never wait long for that
    if (server) await Promise.race([new Promise((r) => server.close(r)), new Promise((r) => setTimeout(r, 5000).unref())]);
    await rm(this.socketPath, { force: true });
  }
}
