/**
 * The control plane on one machine: `corelet scheduler init`, the scheduler, and a node (agent over
 * corelet runtime) joining with the printed token file and CA hash; a Deployment applied through the
 * API runs on the node and reports back. A bad token or CA hash is refused; the API wants credentials.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { BUSYBOX, CORELET } from '../helpers/runtime-harness.js';
import { OneNodeCluster } from '../helpers/one-node-cluster.js';

// the first test watches the node join: start() does not wait for it to be Ready
const cluster = new OneNodeCluster({ name: 'node', waitReady: false });
const api = cluster.api.bind(cluster);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(() => cluster.start());

after(async () => {
  await api('/api/v1/namespaces/default/deployments/web', { method: 'DELETE' }).catch(() => undefined);
  await cluster.stop();
});

test('a node joins with the printed command and becomes Ready', async () => {
  const join_ = cluster.joinArgs;
  assert.deepEqual([join_[0], join_[2], join_[4]], ['--server', '--token-file', '--ca-cert-hash']);
  let nodes: any;
  for (let i = 0; i < 50; i++) {
    nodes = (await api('/api/v1/nodes')).json;
    if (nodes.items.length === 1) break;
    await sleep(100);
  }
  assert.equal(nodes.items[0].metadata.name, 'test-node');
  assert.ok(nodes.items[0].status.conditions.some((c: any) => c.type === 'Ready' && c.status === 'True'));
});

test('a Deployment applied through the API runs on the node and reports back', async () => {
  const manifest = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: c
        image: ${BUSYBOX}
        command: ["sleep", "3600"]
`;
  const applied = await api('/api/v1/apply', { method: 'POST', body: manifest });
  assert.equal(applied.status, 200, JSON.stringify(applied.json));
  let pods: any[] = [];
  for (let i = 0; i < 240; i++) {
    pods = (await api('/api/v1/namespaces/default/pods')).json.items;
    if (pods.length === 2 && pods.every((p) => p.status?.phase === 'Running')) break;
    await sleep(250);
  }
  assert.equal(pods.length, 2, 'two replicas');
  for (const p of pods) {
    assert.equal(p.spec.nodeName, 'test-node');
    assert.equal(p.status.phase, 'Running');
    assert.match(p.status.podIP, /^\d+\.\d+\.\d+\.\d+$/);
  }
  assert.equal((await cluster.agent.pods()).length, 2, 'the agent runs them');
});

test('deleting the Deployment removes its pods from the node', async () => {
  assert.equal((await api('/api/v1/namespaces/default/deployments/web', { method: 'DELETE' })).status, 200);
  let left = -1;
  for (let i = 0; i < 120; i++) {
    left = (await cluster.agent.pods()).length;
    if (left === 0) break;
    await sleep(250);
  }
  assert.equal(left, 0, 'the agent stopped and removed them');
  assert.equal((await api('/api/v1/namespaces/default/pods')).json.items.length, 0);
});

test('logs and exec reach a pod through its node\'s agent', async () => {
  const { request } = await import('node:https');
  /** GETs a log as text; with done, returns (and hangs up) as soon as done(body) holds. */
  const logText = (path: string, done: (body: string) => boolean = () => false) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: cluster.port, path, ca: cluster.ca, headers: { Authorization: `Bearer ${cluster.adminToken}` } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
          if (done(body)) {
            req.destroy();
            resolve({ status: res.statusCode ?? 0, body });
          }
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
  const manifest = `apiVersion: v1
kind: Pod
metadata: {name: talker}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: ${BUSYBOX}
    command: ["sh", "-c", "echo line 1; echo line 2; i=3; while true; do sleep 1; echo line $i; i=$((i+1)); done"]
`;
  const base = '/api/v1/namespaces/default/pods/talker';
  try {
    assert.equal((await api('/api/v1/apply', { method: 'POST', body: manifest })).status, 200);
    let log = { status: 0, body: '' };
    for (let i = 0; i < 240 && !log.body.startsWith('line 1\nline 2\n'); i++) {
      await sleep(250);
      log = await logText(`${base}/log`);
    }
    assert.equal(log.status, 200, log.body);
    assert.match(log.body, /^line 1\nline 2\n(line \d+\n)*$/);

    // follow: after the last line there is now, a new one streams in.
    const last = Number(/line (\d+)\n$/.exec(log.body)![1]);
    const followed = await logText(`${base}/log?follow=true`, (body) => body.includes(`line ${last + 1}\n`));
    assert.equal(followed.status, 200);
    assert.match(followed.body, new RegExp(`^line 1\\n[^]*line ${last + 1}\\n`));
    const tail = await logText(`${base}/log?tailLines=1`);
    assert.match(tail.body, /^line \d+\n$/);

    const hi = await api(`${base}/exec`, { method: 'POST', body: JSON.stringify({ command: ['echo', 'hi'] }) });
    assert.equal(hi.status, 200, JSON.stringify(hi.json));
    assert.deepEqual(hi.json, { stdout: 'hi\n', stderr: '', exitCode: 0 });
    const three = await api(`${base}/exec`, { method: 'POST', body: JSON.stringify({ command: ['sh', '-c', 'exit 3'] }) });
    assert.equal(three.json.exitCode, 3);
  } finally {
    await api(base, { method: 'DELETE' });
    for (let i = 0; i < 120 && (await cluster.agent.pods()).some((p) => p.metadata.name === 'talker'); i++) await sleep(250);
  }
});

test('the API refuses requests without credentials; a bad token or CA hash cannot join', async () => {
  assert.equal((await api('/api/v1/nodes', { token: null })).status, 401);
  assert.equal((await api('/api/v1/namespaces/default/pods', { token: 'abcdef.0123456789abcdef' })).status, 401);
  const { dir, runtime, agent, joinArgs } = cluster;
  const base = [CORELET, 'agent', '--runtime-endpoint', `unix://${runtime.socket}`, '--root', join(dir, 'bad'), '--address', '127.0.0.1', '--port', '0', '--qos-cgroup', agent.qosTop, '--node-name', 'intruder'];
  const server = joinArgs[1]!;
  const hash = joinArgs[5]!;
  const unknown = join(dir, 'unknown-token');
  await writeFile(unknown, 'abcdef.0123456789abcdef\n', { mode: 0o600 });
  const badToken = await execa(process.execPath, [...base, '--server', server, '--token-file', unknown, '--ca-cert-hash', hash], { reject: false, timeout: 20_000 });
  assert.notEqual(badToken.exitCode, 0);
  assert.match(badToken.stderr, /refused the node certificate \(401\).*token abcdef is not known/);
  assert.ok(!badToken.stderr.includes('0123456789abcdef'), 'the secret is never printed');
  const onCommandLine = await execa(process.execPath, [...base, '--server', server, '--token', 'abcdef.0123456789abcdef', '--ca-cert-hash', hash], { reject: false, timeout: 20_000 });
  assert.match(onCommandLine.stderr, /--token is no longer accepted.*--token-file FILE/);
  const badHash = await execa(process.execPath, [...base, '--server', server, '--token-file', cluster.tokenFile, '--ca-cert-hash', `sha256:${'0'.repeat(64)}`], { reject: false, timeout: 20_000 });
  assert.notEqual(badHash.exitCode, 0);
  assert.match(badHash.stderr, /CA does not match --ca-cert-hash/);
  const nodes = (await api('/api/v1/nodes')).json.items.map((n: any) => n.metadata.name);
  assert.deepEqual(nodes, ['test-node']);
});
