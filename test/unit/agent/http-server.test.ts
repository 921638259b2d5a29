import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from '../../../src/api/index.js';
import type { CriClient } from '../../../src/cri/index.js';
import { AgentMetrics, instrumentCriClient, startAgentHttpServer } from '../../../src/agent/http/index.js';

function pod(name: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, labels: {}, annotations: {} },
    spec: {
      containers: [], initContainers: [], restartPolicy: 'Always', terminationGracePeriodSeconds: 30, hostNetwork: false,
      shareProcessNamespace: false, dnsPolicy: 'ClusterFirst', volumes: [], nodeSelector: {}, tolerations: [],
    },
    status: { phase: 'Running', conditions: [], initContainerStatuses: [], containerStatuses: [] },
  };
}

async function start(t: { after(fn: () => Promise<void>): void }, pods: () => Pod[] = () => []) {
  const metrics = new AgentMetrics();
  const server = await startAgentHttpServer({ address: '127.0.0.1', port: 0, pods, metrics });
  t.after(() => server.close());
  return { metrics, url: server.url };
}

test('/healthz answers ok; unknown paths are 404', async (t) => {
  const { url } = await start(t);
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const health = await fetch(`${url}/healthz`);
  assert.equal(health.status, 200);
  assert.equal(await health.text(), 'ok');
  assert.equal((await fetch(`${url}/nope`)).status, 404);
  assert.equal((await fetch(`${url}/healthz`, { method: 'POST' })).status, 405);
});

test('/pods lists the current pods as a PodList', async (t) => {
  let pods = [pod('a')];
  const { url } = await start(t, () => pods);
  const first = await fetch(`${url}/pods`);
  assert.match(first.headers.get('content-type') ?? '', /application\/json/);
  assert.deepEqual(await first.json(), { kind: 'PodList', apiVersion: 'v1', items: [pod('a')] });
  pods = [pod('a'), pod('b')];
  const second = (await (await fetch(`${url}/pods`)).json()) as { items: Pod[] };
  assert.deepEqual(second.items.map((p) => p.metadata.name), ['a', 'b']);
});

test('/metrics exposes the agent metrics after observations', async (t) => {
  const { url, metrics } = await start(t);
  metrics.observeSync(0.2);
  metrics.observeCri('RunPodSandbox', 0.05);
  metrics.observeCri('PullImage', 1.5, 'NOT_FOUND');
  metrics.restart();
  metrics.eviction();
  metrics.setPodPhases({ Running: 2, Pending: 1 });
  metrics.setContainerStates({ running: 3, waiting: 1 });
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
  const text = await res.text();
  assert.match(text, /^corelet_pods\{phase="Running"\} 2$/m);
  assert.match(text, /^corelet_pods\{phase="Failed"\} 0$/m);
  assert.match(text, /^corelet_containers\{state="running"\} 3$/m);
  assert.match(text, /^corelet_pod_sync_duration_seconds_count 1$/m);
  assert.match(text, /^corelet_cri_call_duration_seconds_count\{method="RunPodSandbox"\} 1$/m);
  assert.match(text, /^corelet_cri_call_errors_total\{method="PullImage",code="NOT_FOUND"\} 1$/m);
  assert.match(text, /^corelet_container_restarts_total 1$/m);
  assert.match(text, /^corelet_evictions_total 1$/m);
});

test('a failing pods callback gives 500 and the server keeps serving', async (t) => {
  const { url } = await start(t, () => {
    throw new Error('store unavailable');
  });
  assert.equal((await fetch(`${url}/pods`)).status, 500);
  assert.equal(await (await fetch(`${url}/healthz`)).text(), 'ok');
});

test('the port is configurable and a busy one is an error', async (t) => {
  const { url } = await start(t);
  const port = Number(new URL(url).port);
  await assert.rejects(startAgentHttpServer({ address: '127.0.0.1', port, pods: () => [], metrics: new AgentMetrics() }), /EADDRINUSE/);
});

test('instrumentCriClient times every runtime and image call and counts failures by gRPC code', async () => {
  const fake = {
    runtime: {
      Version: async () => ({ version: '0.1.0' }),
      StopContainer: async () => Promise.reject(Object.assign(new Error('no such container'), { code: 5 })),
    },
    image: { ListImages: async () => ({ images: [] }), PullImage: async () => Promise.reject(new Error('plain failure')) },
    admin: {},
    raw: {},
    close: () => {},
  } as unknown as CriClient;
  const metrics = new AgentMetrics();
  const client = instrumentCriClient(fake, metrics);
  assert.deepEqual(await client.runtime.Version({}), { version: '0.1.0' });
  await client.runtime.Version({});
  assert.deepEqual(await client.image.ListImages({}), { images: [] });
  await assert.rejects(client.runtime.StopContainer({ container_id: 'x', timeout: '1' }), /no such container/);
  await assert.rejects(client.image.PullImage({}), /plain failure/);
  const text = await metrics.text();
  assert.match(text, /^corelet_cri_call_duration_seconds_count\{method="Version"\} 2$/m);
  assert.match(text, /^corelet_cri_call_duration_seconds_count\{method="ListImages"\} 1$/m);
  assert.match(text, /^corelet_cri_call_duration_seconds_count\{method="StopContainer"\} 1$/m);
  assert.match(text, /^corelet_cri_call_errors_total\{method="StopContainer",code="NOT_FOUND"\} 1$/m);
  assert.match(text, /^corelet_cri_call_errors_total\{method="PullImage",code="UNKNOWN"\} 1$/m);
  assert.doesNotMatch(text, /corelet_cri_call_errors_total\{method="Version"/);
});

test('process metrics are opt-in', async () => {
  assert.doesNotMatch(await new AgentMetrics().text(), /process_cpu_seconds_total/);
  assert.match(await new AgentMetrics({ processMetrics: true }).text(), /process_cpu_seconds_total/);
});
