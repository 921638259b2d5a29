/**
 * The runtime's container events (GetContainerEvents, the kubelet's evented PLEG): a container that
 * stops wakes its pod's worker at once, without waiting for a relist or a resync; a runtime without
 * the rpc leaves the relist as the only source of changes.
 */
import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LABELS } from '../../../src/agent/cri-config.js';
import { PodManager } from '../../../src/agent/pod-manager.js';
import type { WorkerContext } from '../../../src/agent/pod-worker.js';
import { decodePods, type Pod } from '../../../src/api/index.js';
import { Backoff } from '../../../src/lib/backoff.js';
import { silentLogger } from '../../../src/lib/index.js';
import { FakeCri } from './fake-cri.js';

const LOG_ROOT = mkdtempSync(join(tmpdir(), 'corelet-events-'));
after(() => rmSync(LOG_ROOT, { recursive: true, force: true }));

const web = (): Pod =>
  decodePods(
    `apiVersion: v1
kind: Pod
metadata: { name: web, namespace: default, uid: uid-web }
spec:
  containers: [{ name: app, image: registry.test/app:1 }]
`,
    'test',
  ).pods[0]!;

/** An events stream as grpc-js gives it: an emitter with cancel() (which ends it CANCELLED). */
class FakeStream extends EventEmitter {
  cancelled = false;
  cancel(): void {
    this.cancelled = true;
    this.emit('error', Object.assign(new Error('1 CANCELLED: Cancelled on client'), { code: 1 }));
  }
}

function context(cri: FakeCri, raw: unknown): WorkerContext {
  return {
    cri: { runtime: cri.runtime, image: cri.image, raw },
    nodeName: 'node-a',
    hostIP: '10.0.0.1',
    logRoot: LOG_ROOT,
    cgroups: { ensurePod: async () => '/kubepods/test', removePod: async () => undefined, containerResources: () => ({}) },
    volumes: { prepare: async () => ({}), cleanup: async () => undefined, prepareSubPath: async () => '' },
    events: { record: () => undefined },
    backoff: new Backoff({ initialMs: 0, maxMs: 0, resetMs: 600_000 }),
    startProbes: () => () => undefined,
    runHandler: async () => undefined,
    removeContainerLogs: async () => undefined,
    logger: silentLogger,
    onStatus: () => undefined,
  } as unknown as WorkerContext;
}

/** A fake runtime holding the app's image, and the events stream it serves. */
function fakeRuntime(): { cri: FakeCri; stream: FakeStream } {
  const cri = new FakeCri();
  cri.images.add('registry.test/app:1');
  return { cri, stream: new FakeStream() };
}

/** Stops the manager (its relist and events stream) and removes the pod, waiting for its worker. */
async function shutDown(manager: PodManager): Promise<void> {
  manager.stop();
  manager.setSource('file', []);
  await manager.worker('uid-web')?.done;
}

async function until(what: () => boolean, label: string): Promise<void> {
  for (let i = 0; i < 2000 && !what(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(what(), label);
}

it('a container that stops wakes its pod at once through the runtime\'s events; the stream is cancelled when the manager stops', async () => {
  const { cri, stream } = fakeRuntime();
  // relists far apart: only the event can wake the (settled) pod in time
  const manager = new PodManager({ ctx: context(cri, { runtime: { GetContainerEvents: () => stream } }), admit: () => ({ admit: true }), logger: silentLogger, relistMs: 3_600_000, eventedRelistMs: 3_600_000 });
  manager.startRelist();
  manager.setSource('file', [web()]);
  await until(() => manager.pods()[0]?.status?.containerStatuses[0]?.state.running !== undefined, 'the app runs');
  const first = cri.named('app')[0]!;
  stream.emit('metadata', {});

  cri.exit(first.id, 1);
  // an event for another pod wakes nothing here; the one for ours restarts its container
  stream.emit('data', { container_id: 'other', container_event_type: 'CONTAINER_STOPPED_EVENT', pod_sandbox_status: { labels: { [LABELS.podUid]: 'uid-other' } }, containers_statuses: [] });
  stream.emit('data', { container_id: first.id, container_event_type: 'CONTAINER_STOPPED_EVENT', pod_sandbox_status: { labels: { [LABELS.podUid]: 'uid-web' } }, containers_statuses: [] });
  await until(() => cri.calls.includes('CreateContainer app attempt=1'), `the app restarts: ${cri.calls.join(', ')}`);

  await shutDown(manager);
  assert.ok(stream.cancelled);
});

it('a runtime without container events (Unimplemented) is relisted every relistMs: a stopped container is found by the relist', async () => {
  const { cri, stream } = fakeRuntime();
  const manager = new PodManager({ ctx: context(cri, { runtime: { GetContainerEvents: () => stream } }), admit: () => ({ admit: true }), logger: silentLogger, relistMs: 20, eventedRelistMs: 3_600_000 });
  manager.startRelist();
  stream.emit('error', Object.assign(new Error('12 UNIMPLEMENTED: unknown method'), { code: 12 }));
  manager.setSource('file', [web()]);
  await until(() => manager.pods()[0]?.status?.containerStatuses[0]?.state.running !== undefined, 'the app runs');
  cri.exit(cri.named('app')[0]!.id, 1);
  await until(() => cri.calls.includes('CreateContainer app attempt=1'), `the app restarts: ${cri.calls.join(', ')}`);
  await shutDown(manager);
});

it('a settled pod whose sandbox left the runtime with no event (the stream was down) is made again at the next relist', async () => {
  const { cri, stream } = fakeRuntime();
  let published = 0;
  // events up and no resync due: the relist is the only safety net
  const ctx = { ...context(cri, { runtime: { GetContainerEvents: () => stream } }), resyncMs: { pending: 3_600_000, settled: 3_600_000 }, onStatus: () => void published++ };
  const manager = new PodManager({ ctx, admit: () => ({ admit: true }), logger: silentLogger, relistMs: 3_600_000, eventedRelistMs: 3_600_000 });
  manager.startRelist();
  stream.emit('metadata', {});
  manager.setSource('file', [web()]);
  await until(() => manager.pods()[0]?.status?.containerStatuses[0]?.state.running !== undefined, 'the app runs');
  await manager.relist(); // the runtime's view of the running pod (it may wake the worker once)
  // settled: no sync publishes for 300 ms
  for (let last = -1, i = 0; i < 100 && last !== published; i++) {
    last = published;
    await new Promise((r) => setTimeout(r, 300));
  }
  const gone = [...cri.sandboxes.keys()];
  await cri.runtime.RemovePodSandbox({ pod_sandbox_id: gone[0]! }); // behind the agent's back, no event
  await manager.relist();
  await until(() => [...cri.sandboxes.keys()].some((id) => !gone.includes(id)) && cri.named('app').length > 0, `the pod is made again: ${cri.calls.join(', ')}`);
  await shutDown(manager);
});
