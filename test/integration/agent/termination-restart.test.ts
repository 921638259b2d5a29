/**
 * Graceful deletion survives an agent restart (real scheduler, agent and runtime): a pod with a
 * preStop hook is deleted with a 60 s grace, the agent is SIGKILLed while the hook runs and started
 * again; the new agent is told about the Terminating pod, runs the preStop hook again and then the
 * stop signal within the time left (not the relist's 10 s orphan removal without preStop), and the
 * scheduler removes the pod once the agent confirms.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentHarness } from '../../helpers/agent-harness.js';
import { RuntimeHarness, BUSYBOX } from '../../helpers/runtime-harness.js';
import { initScheduler, startScheduler, type RunningScheduler } from '../../../src/scheduler/daemon.js';
import type { Pki } from '../../../src/scheduler/auth/index.js';
import { api } from '../../unit/scheduler/server-helpers.js';

const silent: any = { debug() {}, info() {}, warn() {}, error() {}, fatal() {}, trace() {}, child() { return silent; } };

let runtime: RuntimeHarness | undefined;
let agent: AgentHarness | undefined;
let sched: RunningScheduler | undefined;
let dir = '';
let out = '';
let admin = '';
let pki: Pki;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'corelet-fixterm-sched-'));
  out = await mkdtemp(join(tmpdir(), 'corelet-fixterm-out-'));
  await chmod(out, 0o777);
  const init = await initScheduler({ dir, hosts: ['127.0.0.1'], port: 0, configFile: join(dir, 'config') });
  admin = init.adminToken;
  pki = { ca: { certPem: init.caCert } } as Pki;
  sched = await startScheduler({ dir, address: '127.0.0.1', port: 0, logger: silent });
  runtime = await RuntimeHarness.start();
  await runtime.crictl(['pull', BUSYBOX]);
  const port = new URL(sched.server.url).port;
  agent = await AgentHarness.start(`unix://${runtime.socket}`, ['--server', `wss://127.0.0.1:${port}`, '--ca-cert-hash', init.caCertHash, '--token-file', init.tokenFile]);
});

after(async () => {
  await agent?.stop();
  await runtime?.stop();
  await agent?.removeCgroups();
  await sched?.close();
  await rm(dir, { recursive: true, force: true });
  await rm(out, { recursive: true, force: true });
});

const req = (method: string, path: string, body?: string) => api(sched!.server, pki, method, path, { token: admin, body, contentType: body ? 'application/json' : undefined });

async function until<T>(what: string, f: () => Promise<T | undefined>, tries = 600): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}; agent log tail:\n${(await agent!.log()).slice(-4000)}`);
}

const lines = async () => (await readFile(join(out, 'log'), 'utf8').catch(() => '')).split('\n').filter(Boolean);

test('an agent SIGKILLed during a 60 s graceful deletion runs preStop and TERM again when restarted, then the pod is removed', async () => {
  const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'flush', labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } } };
  assert.ok([200, 201].includes((await req('POST', '/api/v1/namespaces', JSON.stringify(ns))).status));
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'db' },
    spec: {
      nodeName: 'test-node',
      hostNetwork: true,
      terminationGracePeriodSeconds: 60,
      volumes: [{ name: 'out', hostPath: { path: out } }],
      containers: [
        {
          name: 'db',
          image: BUSYBOX,
          command: ['sh', '-c', "trap 'echo TERM >> /out/log; exit 0' TERM; echo started >> /out/log; while true; do sleep 1; done"],
          volumeMounts: [{ name: 'out', mountPath: '/out' }],
          lifecycle: { preStop: { exec: { command: ['sh', '-c', 'echo prestop >> /out/log; sleep 4'] } } },
        },
      ],
    },
  };
  const created = await req('POST', '/api/v1/namespaces/flush/pods', JSON.stringify(pod));
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await until('the pod to start', async () => ((await lines()).includes('started') ? true : undefined));

  const deleted = await req('DELETE', '/api/v1/namespaces/flush/pods/db?gracePeriodSeconds=60');
  assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
  await until('the first preStop', async () => ((await lines()).includes('prestop') ? true : undefined));
  await agent!.kill9();
  await agent!.startDaemon();

  await until('the pod object to be removed', async () => ((await req('GET', '/api/v1/namespaces/flush/pods/db')).status === 404 ? true : undefined), 1200);
  const seen = await lines();
  assert.equal(seen.filter((l) => l === 'prestop').length, 2, `the restarted agent ran preStop again: ${seen.join(' ')}`);
  assert.ok(seen.lastIndexOf('TERM') > seen.lastIndexOf('prestop'), `TERM after the preStop: ${seen.join(' ')}`);
});
