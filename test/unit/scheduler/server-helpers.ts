/** Shared fixtures for the scheduler server tests: PKI, tokens, a running server, a fake agent. */
import https from 'node:https';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import tls from 'node:tls';
import type { TestContext } from 'node:test';
import { WebSocket } from 'ws';
import { MAX_MESSAGE_BYTES, parseMessage, type Message, type RegisterMessage, type ServicesMessage } from '../../../src/api/index.js';
import { caCertHash, createCa, createServerCert, fetchPinnedCa, newTokenRecord, type Pki, type TokenRecord } from '../../../src/scheduler/auth/index.js';
import { NodeSessions, startSchedulerServer, type SchedulerServer, type SchedulerServerOptions } from '../../../src/scheduler/server/index.js';
import { handleApiRequest, type RestApiOptions } from '../../../src/scheduler/server/rest-api.js';
import { serverTlsOptions } from '../../../src/scheduler/auth/index.js';
import { silentLogger } from '../../../src/lib/index.js';
import { ensureBuiltinNamespaces } from '../../../src/scheduler/admission/index.js';
import { makeNodeCsr, requestNodeCertificate, type NodeCredentials } from '../../../src/agent/cluster/node-identity.js';
import type { Store } from '../../../src/scheduler/store/index.js';
import { useTestKeys } from '../../helpers/test-keys.js';

// The servers' and agents' keys come from the test key pool (made once per build, not per test).
useTestKeys();

let sharedPki: Promise<Pki> | undefined;

/**
 * A CA and server certificate (valid for 127.0.0.1), made once per test file (two RSA keys and
 * their signatures are most of a small test's CPU); a fresh object each call. Tests that need a CA
 * of their own (an impostor) call createCa themselves.
 */
export async function makePki(): Promise<Pki> {
  sharedPki ??= createCa().then(async (ca) => ({ ca, server: await createServerCert(ca) }));
  const { ca, server } = await sharedPki;
  return { ca: { ...ca }, server: { ...server } };
}

/** Token records by id, with one bootstrap and one API token. */
export function makeTokens(): { lookup: (id: string) => TokenRecord | undefined; bootstrap: string; api: string; records: Map<string, TokenRecord> } {
  const records = new Map<string, TokenRecord>();
  const b = newTokenRecord('bootstrap');
  const a = newTokenRecord('api', { user: 'admin' });
  records.set(b.record.id, b.record);
  records.set(a.record.id, a.record);
  return { lookup: (id) => records.get(id), bootstrap: b.token, api: a.token, records };
}

/** A server on 127.0.0.1 with a free port, closed when the test ends; options add settings (e.g. nodeCertTtlSeconds). */
export async function startServer(t: TestContext, store: Store, pki: Pki, lookup: (id: string) => TokenRecord | undefined, options: Partial<SchedulerServerOptions> = {}): Promise<SchedulerServer> {
  const server = await startSchedulerServer({ store, pki, address: '127.0.0.1', port: 0, tokenLookup: lookup, ...options });
  t.after(() => server.close());
  return server;
}

/** A plain TLS server on 127.0.0.1 (free port) that counts the application bytes it receives; its connections are cut and it closes when the test ends. */
export async function startTlsServer(t: { after: (fn: () => Promise<void>) => void }, options: tls.TlsOptions): Promise<{ port: number; received: { bytes: number } }> {
  const received = { bytes: 0 };
  const server = tls.createServer(options, (s) => {
    s.on('data', (d: Buffer) => (received.bytes += d.length));
    s.on('error', () => {}); // clients hang up right after the handshake
  });
  server.on('tlsClientError', () => {});
  return { port: await listenForTest(t, server), received };
}

/**
 * Listens on 127.0.0.1 (a free port, returned); when the test ends, closes the server and cuts its
 * connections. The TCP connections themselves are tracked: a client may finish its handshake (and
 * the test end) before the server has seen 'secureConnection', and close() waits for every one.
 */
async function listenForTest(t: { after: (fn: () => Promise<void>) => void }, server: NetServer): Promise<number> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of sockets) s.destroy();
    await closed;
  });
  return (server.address() as AddressInfo).port;
}

/** An HTTPS request trusting only the scheduler's CA; a JSON body parsed, the raw text kept. */
export async function api(
  server: { url: string },
  pki: Pki,
  method: string,
  path: string,
  opts: { token?: string; body?: string | Buffer; contentType?: string; accept?: string } = {},
): Promise<{ status: number; body: any; text: string; headers: Record<string, string | string[] | undefined> }> {
  const https = await import('node:https');
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.contentType) headers['content-type'] = opts.contentType;
  if (opts.accept) headers.accept = opts.accept;
  // Framed as clients frame it: Node sends a DELETE's body unframed (no chunking) without it.
  if (opts.body !== undefined) headers['content-length'] = String(Buffer.byteLength(opts.body));
  return new Promise((resolve, reject) => {
    const req = https.request(`${server.url}${path}`, { method, ca: pki.ca.certPem, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const json = text !== '' && (res.headers['content-type'] ?? '').includes('json') && !path.includes('watch=');
        resolve({ status: res.statusCode ?? 0, body: json ? JSON.parse(text) : undefined, text, headers: res.headers });
      });
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A merge patch request (RFC 7386). */
export function patch(server: { url: string }, pki: Pki, path: string, token: string, body: unknown) {
  return api(server, pki, 'PATCH', path, { token, body: JSON.stringify(body), contentType: 'application/merge-patch+json' });
}

/** The REST API alone on 127.0.0.1 (a free port) with extra options (a fake pod proxy...), closed when the test ends. */
export async function startApiServer(
  t: TestContext,
  store: Store,
  pki: Pki,
  lookup: (id: string) => TokenRecord | undefined,
  extra: Partial<RestApiOptions> = {},
): Promise<{ url: string; port: number; sessions: NodeSessions }> {
  const sessions = extra.sessions ?? new NodeSessions();
  ensureBuiltinNamespaces(store);
  const server = https.createServer(serverTlsOptions(pki), (req, res) => {
    void handleApiRequest(req, res, { store, sessions, tokenLookup: lookup, logger: silentLogger, now: () => new Date(), ...extra });
  });
  const port = await listenForTest(t, server);
  return { url: `https://127.0.0.1:${port}`, port, sessions };
}

/** A watch as a client reads it: events arrive in `events`; next(n) waits until n have come. */
export async function openWatch(server: { url: string }, pki: Pki, path: string, token: string, accept?: string): Promise<{ events: any[]; next(count: number): Promise<any[]>; close(): void; status: number }> {
  return new Promise((resolve, reject) => {
    const events: any[] = [];
    const waiters: (() => void)[] = [];
    let buffered = '';
    const req = https.request(`${server.url}${path}`, { ca: pki.ca.certPem, headers: { authorization: `Bearer ${token}`, ...(accept ? { accept } : {}) } }, (res) => {
      res.on('data', (c: Buffer) => {
        buffered += c.toString('utf8');
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buffered.slice(0, nl)));
          buffered = buffered.slice(nl + 1);
        }
        for (const w of waiters.splice(0)) w();
      });
      res.on('error', () => {});
      resolve({
        events,
        status: res.statusCode ?? 0,
        async next(count: number) {
          while (events.length < count) await new Promise<void>((r) => waiters.push(r));
          return events.slice(0, count);
        },
        close: () => req.destroy(),
      });
    });
    req.on('error', (err) => {
      if (!req.destroyed) reject(err);
    });
    req.end();
  });
}

/** A node's credentials from the scheduler's CSR endpoint, bootstrapped with token (as the agent does). */
export async function bootstrapNode(server: { port: number }, pki: Pki, token: string, nodeName: string, sans: { ips?: string[]; dnsNames?: string[] } = {}): Promise<NodeCredentials> {
  const { keyPem, csrPem } = await makeNodeCsr(nodeName, sans);
  const certPem = await requestNodeCertificate({ host: '127.0.0.1', port: server.port }, pki.ca.certPem, { token }, csrPem);
  return { keyPem, certPem, caPem: pki.ca.certPem };
}

/** Credentials FakeAgent.connect got, by token and node name. */
const joined = new Map<string, NodeCredentials>();

/** A fake agent: a real ws client that pins the CA first, as the agent does, and queues messages. */
export class FakeAgent {
  private readonly queue: Message[] = [];
  private waiters: (() => void)[] = [];
  /** The `services` messages received (Services and EndpointSlices for a data plane), kept out of {@link next}. */
  readonly services: ServicesMessage[] = [];
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const m = parseMessage(data.toString('utf8'), { receiver: 'agent' });
      if (m.type === 'services') {
        this.services.push(m);
        return;
      }
      this.queue.push(m);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /**
   * Pins the CA by hash, then opens wss://.../nodes with a node certificate: the one given, or one
   * bootstrapped for nodeName with the token given. Rejects with the HTTP refusal.
   */
  static async connect(t: TestContext, server: SchedulerServer, pki: Pki, auth: string | NodeCredentials, nodeName?: string, sans: { ips?: string[]; dnsNames?: string[] } = {}): Promise<FakeAgent> {
    const caPem = await fetchPinnedCa({ host: '127.0.0.1', port: server.port }, caCertHash(pki.ca.certPem));
    // A node that joined before with this token connects again with its certificate, as an agent does.
    const key = `${String(auth)}|${nodeName ?? 'node-a'}`;
    const creds = typeof auth === 'string' ? (joined.get(key) ?? (await bootstrapNode(server, pki, auth, nodeName ?? 'node-a', sans))) : auth;
    if (typeof auth === 'string') joined.set(key, creds);
    const ws = new WebSocket(`wss://127.0.0.1:${server.port}/nodes`, {
      ca: caPem,
      cert: creds.certPem,
      key: creds.keyPem,
      maxPayload: MAX_MESSAGE_BYTES,
    });
    t.after(() => ws.terminate());
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString('utf8')}`), { status: res.statusCode })));
      });
      ws.once('error', reject);
    });
    const agent = new FakeAgent(ws);
    agent.credentials = creds;
    return agent;
  }

  /** The certificate it connected with. */
  credentials!: NodeCredentials;

  send(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }

  /** The next message received (waits for it). */
  async next(): Promise<Message> {
    while (this.queue.length === 0) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.queue.shift()!;
  }

  /** Resolves when the server has closed the connection (or it was closed here). */
  closed(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => this.ws.once('close', () => resolve()));
  }
}

/** A register message for a 4-cpu, 8Gi node. */
export function registerMessage(nodeName: string, id?: string): RegisterMessage {
  return {
    v: 1,
    type: 'register',
    ...(id ? { id } : {}),
    nodeName,
    labels: { 'kubernetes.io/hostname': nodeName },
    capacity: { cpu: '4', memory: '8Gi', pods: '110' },
    allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
    runtime: { name: 'corelet', version: '0.1.0' },
    addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
    pods: [],
  };
}

/** A pod manifest (YAML) asking for cpu. */
export function podYaml(name: string, cpu = '100m'): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  containers:
    - name: c
      image: busybox
      resources:
        requests: { cpu: "${cpu}", memory: 16Mi }
`;
}
