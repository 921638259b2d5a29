import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { CoreletError } from '../../../src/lib/index.js';
import type { Probe } from '../../../src/api/index.js';
import { ExecTimeoutError, criProbeDeps, runProbe, type ProbeDeps, type ProbeTarget } from '../../../src/agent/probes/index.js';

const base = { initialDelaySeconds: 0, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 };
const noExec: ProbeDeps = { execSync: async () => assert.fail('exec not expected') };

function target(ports: ProbeTarget['ports'] = []): ProbeTarget {
  return { podIP: '127.0.0.1', containerId: 'c1', ports };
}

async function listen(server: http.Server | https.Server | net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function close(server: http.Server | https.Server | net.Server): Promise<void> {
  if ('closeAllConnections' in server) server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A pod-like server: /ok 200, /fail 500, /to-ok redirects to /ok, /loop redirects to itself, /away to another host. */
async function podServer(t: { after(fn: () => Promise<void>): void }) {
  const seen: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    const url = req.url ?? '/';
    if (url === '/ok') res.writeHead(200).end('all good');
    else if (url === '/fail') res.writeHead(500).end('broken');
    else if (url === '/to-ok') res.writeHead(302, { Location: '/ok' }).end();
    else if (url === '/to-fail') res.writeHead(301, { Location: `http://127.0.0.1:${port}/fail` }).end();
    else if (url === '/loop') res.writeHead(302, { Location: '/loop' }).end();
    else if (url === '/away') res.writeHead(302, { Location: 'http://192.0.2.1:1/elsewhere' }).end('moved away');
    else if (url === '/hang') return; // never answers
    else res.writeHead(404).end();
  });
  const port = await listen(server);
  t.after(() => close(server));
  return { port, seen };
}

function httpProbe(port: number | string, p: string, extra: Partial<Probe['httpGet']> = {}): Probe {
  return { ...base, httpGet: { path: p, port, scheme: 'HTTP', ...extra } };
}

test('exec probe: exit 0 succeeds, non-zero fails with the output', async () => {
  const calls: unknown[][] = [];
  const deps: ProbeDeps = {
    execSync: async (id, cmd, timeout) => {
      calls.push([id, cmd, timeout]);
      return cmd[0] === 'true' ? { exitCode: 0, stdout: 'fine\n', stderr: '' } : { exitCode: 2, stdout: 'out ', stderr: 'err' };
    },
  };
  assert.deepEqual(await runProbe({ ...base, timeoutSeconds: 3, exec: { command: ['true'] } }, target(), deps), { result: 'Success', output: 'fine\n' });
  assert.deepEqual(await runProbe({ ...base, exec: { command: ['false'] } }, target(), deps), { result: 'Failure', output: 'out err' });
  assert.deepEqual(calls[0], ['c1', ['true'], 3]);
});

test('exec probe: a timeout from the runtime is a failure saying the command timed out', async () => {
  const timeouts = [new ExecTimeoutError(), new CoreletError('DeadlineExceeded', 'slow'), Object.assign(new Error('deadline'), { code: 4 })];
  for (const err of timeouts) {
    const deps: ProbeDeps = { execSync: async () => Promise.reject(err) };
    const r = await runProbe({ ...base, exec: { command: ['sleep', '10'] } }, target(), deps);
    assert.equal(r.result, 'Failure');
    assert.match(r.output, /command timed out/);
    assert.match(r.output, /sleep 10/);
  }
  const other = await runProbe({ ...base, exec: { command: ['x'] } }, target(), { execSync: async () => Promise.reject(new Error('container not running')) });
  assert.equal(other.result, 'Failure');
  assert.match(other.output, /container not running/);
});

test('http probe: 200 succeeds with the body, 500 fails with the status code', async (t) => {
  const { port } = await podServer(t);
  assert.deepEqual(await runProbe(httpProbe(port, '/ok'), target(), noExec), { result: 'Success', output: 'all good' });
  assert.deepEqual(await runProbe(httpProbe(port, '/fail'), target(), noExec), { result: 'Failure', output: 'HTTP probe failed with statuscode: 500' });
  assert.equal((await runProbe(httpProbe(port, '/missing'), target(), noExec)).output, 'HTTP probe failed with statuscode: 404');
});

test('http probe: follows redirects on the same host, not to others, and not forever', async (t) => {
  const { port } = await podServer(t);
  assert.deepEqual(await runProbe(httpProbe(port, '/to-ok'), target(), noExec), { result: 'Success', output: 'all good' });
  assert.deepEqual(await runProbe(httpProbe(port, '/to-fail'), target(), noExec), { result: 'Failure', output: 'HTTP probe failed with statuscode: 500' });
  // Another host: the redirect itself is the answer, and 3xx counts as success.
  const away = await runProbe(httpProbe(port, '/away'), target(), noExec);
  assert.equal(away.result, 'Success');
  assert.match(away.output, /Probe terminated redirects.*moved away/);
  const loop = await runProbe(httpProbe(port, '/loop'), target(), noExec);
  assert.equal(loop.result, 'Failure');
  assert.match(loop.output, /stopped after 10 redirects/);
});

test('http probe: sends the probe headers, resolves named ports, defaults host to the pod IP', async (t) => {
  const { port, seen } = await podServer(t);
  const probe = httpProbe('web', 'ok', { httpHeaders: [{ name: 'X-Probe', value: 'yes' }, { name: 'Host', value: 'app.example' }] });
  const r = await runProbe(probe, target([{ name: 'web', containerPort: port, protocol: 'TCP' }]), noExec);
  assert.equal(r.result, 'Success');
  const h = seen[seen.length - 1];
  assert.equal(h['x-probe'], 'yes');
  assert.equal(h.host, 'app.example');
  assert.match(String(h['user-agent']), /^kube-probe\//);

  const unknown = await runProbe(httpProbe('nope', '/ok'), target(), noExec);
  assert.equal(unknown.result, 'Failure');
  assert.match(unknown.output, /couldn't find port named "nope"/);
  const explicitHost = await runProbe(httpProbe(port, '/ok', { host: '127.0.0.1' }), { ...target(), podIP: '' }, noExec);
  assert.equal(explicitHost.result, 'Success');
});

test('http probe: a server that does not answer in time fails', async (t) => {
  const { port } = await podServer(t);
  const r = await runProbe(httpProbe(port, '/hang'), target(), noExec);
  assert.equal(r.result, 'Failure');
  assert.match(r.output, /timeout after 1s/);
});

test('http probe: a closed port fails with the connection error', async () => {
  const port = await freePort();
  const r = await runProbe(httpProbe(port, '/'), target(), noExec);
  assert.equal(r.result, 'Failure');
  assert.match(r.output, /ECONNREFUSED/);
});

test('https probe: a self-signed certificate is accepted', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'corelet-probe-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=pod',
    '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
  const server = https.createServer({ key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) },
    (req, res) => res.writeHead(req.url === '/ok' ? 200 : 503).end('tls'));
  const port = await listen(server);
  t.after(() => close(server));
  assert.deepEqual(await runProbe(httpProbe(port, '/ok', { scheme: 'HTTPS' }), target(), noExec), { result: 'Success', output: 'tls' });
  assert.equal((await runProbe(httpProbe(port, '/down', { scheme: 'HTTPS' }), target(), noExec)).output, 'HTTP probe failed with statuscode: 503');
});

test('tcp probe: a listener succeeds, a closed port fails', async (t) => {
  const server = net.createServer((socket) => socket.end());
  const port = await listen(server);
  t.after(() => close(server));
  assert.deepEqual(await runProbe({ ...base, tcpSocket: { port } }, target(), noExec), { result: 'Success', output: '' });
  assert.equal((await runProbe({ ...base, tcpSocket: { port: 'db' } }, target([{ name: 'db', containerPort: port, protocol: 'TCP' }]), noExec)).result, 'Success');

  const closed = await freePort();
  const r = await runProbe({ ...base, tcpSocket: { port: closed } }, target(), noExec);
  assert.equal(r.result, 'Failure');
  assert.match(r.output, new RegExp(`dial tcp 127.0.0.1:${closed}: .*ECONNREFUSED`));
});

test('a probe without a handler or with an invalid port fails and says why', async () => {
  assert.match((await runProbe({ ...base }, target(), noExec)).output, /missing probe handler/);
  assert.match((await runProbe({ ...base, tcpSocket: { port: 70000 } }, target(), noExec)).output, /invalid port number: 70000/);
  const noIP = await runProbe({ ...base, tcpSocket: { port: 80 } }, { ...target(), podIP: '' }, noExec);
  assert.equal(noIP.result, 'Failure');
  assert.match(noIP.output, /no IP/);
});

/** A port that was just free and is now closed. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  const port = await listen(server);
  await close(server);
  return port;
}

test('criProbeDeps: exec probes go through CRI ExecSync with the probe timeout', async () => {
  const requests: unknown[] = [];
  const client = {
    runtime: {
      ExecSync: async (req: unknown, options?: { deadlineMs?: number }) => {
        requests.push({ req, options });
        return { stdout: Buffer.from('up\n'), stderr: Buffer.from(''), exit_code: 0 };
      },
    },
  } as unknown as Parameters<typeof criProbeDeps>[0];
  const r = await runProbe({ ...base, timeoutSeconds: 2, exec: { command: ['cat', '/tmp/healthy'] } }, target(), criProbeDeps(client));
  assert.deepEqual(r, { result: 'Success', output: 'up\n' });
  assert.deepEqual(requests, [{ req: { container_id: 'c1', cmd: ['cat', '/tmp/healthy'], timeout: '2' }, options: { deadlineMs: 7000 } }]);
});
