/**
 * pods/exec, attach and portforward upgrades through the scheduler: a real scheduler server, a real
 * agent HTTPS port (the kubelet's /exec/... paths) and, as the runtime's streaming server, a
 * WebSocket server that echoes the stdin channel to stdout. What a client such as kubectl sees: the
 * subprotocol the runtime chose, its bytes both ways, and refusals as Status bodies.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { decodeObjects, type Pod } from '../../../src/api/index.js';
import { AgentMetrics, startAgentHttpServer, type PodStreamRequest } from '../../../src/agent/http/index.js';
import { ensureSchedulerClientCert, newTokenRecord, type CertKeyPair, type Pki } from '../../../src/scheduler/auth/index.js';
import type { ObjectInput } from '../../../src/scheduler/store/index.js';
import { notFound } from '../../../src/lib/index.js';
import { tempStore } from './store-helpers.js';
import { FakeAgent, makePki, makeTokens, podYaml, registerMessage, startServer } from './server-helpers.js';

/**
 * The runtime's streaming server: exec and attach are WebSockets that take the first subprotocol
 * offered and echo channel 0 (stdin) on channel 1 (stdout); a port-forward upgrade is answered with
 * the protocol asked for, then its bytes are echoed as they come.
 */
async function startRuntime(t: { after(fn: () => void): void }): Promise<{ url: string; paths: string[] }> {
  const paths: string[] = [];
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (offered) => [...offered][0] ?? false });
  const server = http.createServer((_req, res) => res.writeHead(400).end());
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    paths.push(req.url ?? '');
    if (req.url?.startsWith('/portforward/')) {
      const accept = createHash('sha1').update(`${String(req.headers['sec-websocket-key'])}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: ${String(req.headers['sec-websocket-protocol'])}\r\n\r\n`);
      socket.pipe(socket);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data: Buffer) => ws.send(Buffer.concat([Buffer.from([1]), data.subarray(1)]))));
  });
  const sockets = new Set<Duplex>();
  server.on('connection', (s) => sockets.add(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, paths };
}

/** A raw upgrade (what ws cannot send: "SPDY/3.1+portforward.k8s.io" is no token); resolves with the 101's protocol and the socket. */
function rawUpgrade(url: string, pki: Pki, token: string, protocol: string): Promise<{ protocol: string; socket: Duplex }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url.replace(/^wss:/, 'https:'), {
      ca: pki.ca.certPem,
      headers: { authorization: `Bearer ${token}`, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64'), 'sec-websocket-protocol': protocol },
    });
    req.on('upgrade', (res, socket) => resolve({ protocol: String(res.headers['sec-websocket-protocol']), socket }));
    req.on('response', (res) => reject(new Error(`HTTP ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
}

/** What a client sees of an upgrade: the WebSocket, or the refusal's status and Status body. */
function open(url: string, pki: Pki, token: string | undefined, protocols: string[]): Promise<{ ws?: WebSocket; status?: number; body?: { reason: string; message: string } }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { ca: pki.ca.certPem, headers: token ? { authorization: `Bearer ${token}` } : {} });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(text) }));
    });
    ws.once('error', reject);
  });
}

describe('pod streams through the scheduler and the node\'s agent', () => {
  let pki: Pki;
  let client: CertKeyPair;
  let dir: string;
  before(async () => {
    pki = await makePki();
    dir = mkdtempSync(join(tmpdir(), 'corelet-pod-stream-'));
    client = await ensureSchedulerClientCert(dir, pki.ca);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** The scheduler, one registered node whose agent port relays to the runtime, and pod web bound to it. */
  async function cluster(t: Parameters<typeof tempStore>[0], streamUrl?: (r: PodStreamRequest) => Promise<string>) {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const runtime = await startRuntime(t);
    const asked: PodStreamRequest[] = [];
    const pods = (): Pod[] => store.list<Pod & { metadata: { uid: string } }>('Pod', { namespace: 'default' });
    const agentPort = await startAgentHttpServer({
      address: '127.0.0.1',
      port: 0,
      pods,
      metrics: new AgentMetrics(),
      // The test PKI's serving certificate names 127.0.0.1, the node's address here.
      tls: { keyPem: pki.server.keyPem, certPem: pki.server.certPem, caPem: pki.ca.certPem, nodeName: 'node-a', authorize: async () => ({ allowed: false, reason: 'only the scheduler' }) },
      streamUrl:
        streamUrl ??
        (async (r) => {
          asked.push(r);
          return `${runtime.url}/${r.kind}/token-1`;
        }),
    });
    t.after(() => agentPort.close());
    const server = await startServer(t, store, pki, tokens.lookup, { agentClientCert: client });
    const agent = await FakeAgent.connect(t, server, pki, tokens.bootstrap, 'node-a');
    agent.send({ ...registerMessage('node-a'), agentPort: Number(new URL(agentPort.url).port) });
    assert.equal((await agent.next()).type, 'registered');
    for (const obj of decodeObjects(podYaml('web'), 'test').objects) store.create('Pod', obj as unknown as ObjectInput);
    store.bindPod('default', 'web', 'node-a');
    const base = `wss://127.0.0.1:${server.port}/api/v1/namespaces/default/pods`;
    return { store, tokens, runtime, asked, base };
  }

  it('relays kubectl exec\'s WebSocket to the runtime: the subprotocol it chose, stdin out and stdout back', async (t) => {
    const { store, tokens, runtime, asked, base } = await cluster(t);
    const node = store.get<{ status: { daemonEndpoints?: unknown } }>('Node', '', 'node-a');
    assert.ok(node?.status.daemonEndpoints, 'the Node shows the agent port it registered with');

    const { ws } = await open(`${base}/web/exec?command=sh&command=-c&command=echo%20hi&container=c&stdin=true&stdout=true&stderr=true&tty=true`, pki, tokens.api, ['v5.channel.k8s.io', 'v4.channel.k8s.io']);
    assert.ok(ws);
    t.after(() => ws.terminate());
    assert.equal(ws.protocol, 'v5.channel.k8s.io');
    const echoed = new Promise<Buffer>((r) => ws.once('message', (d: Buffer) => r(d)));
    ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('hello')]));
    assert.deepEqual(await echoed, Buffer.concat([Buffer.from([1]), Buffer.from('hello')]));

    const uid = store.get<Pod>('Pod', 'default', 'web')!.metadata.uid;
    assert.deepEqual(asked, [{ kind: 'exec', namespace: 'default', name: 'web', uid, container: 'c', command: ['sh', '-c', 'echo hi'], stdin: true, stdout: true, stderr: false, tty: true, ports: [] }]);

    // Port-forward, SPDY tunnelled in a WebSocket as kubectl 1.36 sends it: bytes pass unchanged.
    const pf = await rawUpgrade(`${base}/web/portforward`, pki, tokens.api, 'SPDY/3.1+portforward.k8s.io');
    t.after(() => pf.socket.destroy());
    assert.equal(pf.protocol, 'SPDY/3.1+portforward.k8s.io');
    const back = new Promise<string>((r) => pf.socket.once('data', (d: Buffer) => r(d.toString('utf8'))));
    pf.socket.write('spdy bytes');
    assert.equal(await back, 'spdy bytes');
    assert.deepEqual(asked.map((r) => r.kind), ['exec', 'portforward']);
    assert.deepEqual(runtime.paths, ['/exec/token-1', '/portforward/token-1']);
  });

  it('refuses with a Status: no credentials, no permission, no such pod or container, a pod on no node, and what the agent refuses', async (t) => {
    const { store, tokens, base } = await cluster(t, async (r) => {
      throw notFound(`pod ${r.namespace}/${r.name} does not run on node node-a`);
    });
    const exec = 'exec?command=true&stdout=true';
    const anonymous = await open(`${base}/web/${exec}`, pki, undefined, ['v5.channel.k8s.io']);
    assert.equal(anonymous.status, 401);

    const viewer = newTokenRecord('api', { user: 'viewer' });
    tokens.records.set(viewer.record.id, viewer.record);
    const denied = await open(`${base}/web/${exec}`, pki, viewer.token, ['v5.channel.k8s.io']);
    assert.equal(denied.status, 403);
    assert.equal(denied.body?.reason, 'Forbidden');
    assert.match(denied.body?.message ?? '', /viewer.*create.*pods\/exec|create.*pods\/exec.*viewer/s);

    const missing = await open(`${base}/nope/${exec}`, pki, tokens.api, ['v5.channel.k8s.io']);
    assert.deepEqual([missing.status, missing.body?.message], [404, 'pods "nope" not found']);
    const noContainer = await open(`${base}/web/${exec}&container=x`, pki, tokens.api, ['v5.channel.k8s.io']);
    assert.equal(noContainer.status, 404);
    assert.match(noContainer.body?.message ?? '', /container x is not in pod default\/web/);

    for (const obj of decodeObjects(podYaml('idle'), 'test').objects) store.create('Pod', obj as unknown as ObjectInput);
    const unbound = await open(`${base}/idle/${exec}`, pki, tokens.api, ['v5.channel.k8s.io']);
    assert.deepEqual([unbound.status, unbound.body?.message], [400, 'pod default/idle does not have a host assigned']);

    const agentSaid = await open(`${base}/web/${exec}`, pki, tokens.api, ['v5.channel.k8s.io']);
    assert.deepEqual([agentSaid.status, agentSaid.body?.reason, agentSaid.body?.message], [404, 'NotFound', 'pod default/web does not run on node node-a']);
  });

  it('answers 503 naming the node when its agent cannot be reached', async (t) => {
    const { store, tokens, base } = await cluster(t);
    store.mutate<{ status: { daemonEndpoints?: { kubeletEndpoint: { Port: number } } } }>('Node', '', 'node-a', (n) => {
      n.status.daemonEndpoints = { kubeletEndpoint: { Port: 1 } };
    });
    const gone = await open(`${base}/web/attach?stdout=true&container=c`, pki, tokens.api, ['v5.channel.k8s.io']);
    assert.equal(gone.status, 503);
    assert.match(gone.body?.message ?? '', /^cannot reach the agent of node node-a for the attach in pod default\/web: /);
  });
});

