/**
 * A pod handed over again while its worker is still tearing it down (removed, then wanted again:
 * e.g. a resync that briefly lacked it) runs again once the teardown is done, as the kubelet's pod
 * workers restart a pod that is wanted after it was killed. Before, the dying worker got the update,
 * finished and was dropped, and the pod stayed down until an unrelated change of the source.
 */
import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LABELS } from '../../../src/agent/cri-config.js';
import { PodManager } from '../../../src/agent/pod-manager.js';
import type { WorkerContext } from '../../../src/agent/pod-worker.js';
import { decodePods, type Pod } from '../../../src/api/index.js';
import { silentLogger } from '../../../src/lib/index.js';

const LOG_ROOT = mkdtempSync(join(tmpdir(), 'corelet-readd-'));
after(() => rmSync(LOG_ROOT, { recursive: true, force: true }));

const web = (): Pod =>
  decodePods(
    `apiVersion: v1
kind: Pod
metadata: { name: web, namespace: default, uid: uid-web }
spec:
  containers: [{ name: app, image: registry.test/web:1 }]
`,
    'test',
  ).pods[0]!;

/** A runtime holding sandboxes in memory; StopPodSandbox waits for release() (a slow teardown). */
function fakeRuntime() {
  const calls: string[] = [];
  const sandboxes = new Map<string, string>();
  let n = 0;
  let release: () => void = () => undefined;
  let stopping: () => void = () => undefined;
  const stopStarted = new Promise<void>((r) => (stopping = r));
  const gate = new Promise<void>((r) => (release = r));
  const known: Record<string, (req: { pod_sandbox_id?: string }) => Promise<unknown>> = {
    ListPodSandbox: async () => ({
      items: [...sandboxes].map(([id, state]) => ({ id, state, created_at: '1', metadata: { name: 'web', attempt: 0 }, labels: { [LABELS.podUid]: 'uid-web', [LABELS.managedBy]: 'corelet-agent' } })),
    }),
    RunPodSandbox: async () => {
      calls.push('RunPodSandbox');
      const id = `sb${++n}`;
      sandboxes.set(id, 'SANDBOX_READY');
      return { pod_sandbox_id: id };
    },
    PodSandboxStatus: async () => ({ status: { state: 'SANDBOX_READY', network: { ip: '10.1.0.5' }, created_at: '1' } }),
    ListContainers: async () => ({ containers: [] }),
    StopPodSandbox: async (req) => {
      calls.push('StopPodSandbox');
      stopping();
      await gate;
      sandboxes.set(req.pod_sandbox_id!, 'SANDBOX_NOTREADY');
    },
    RemovePodSandbox: async (req) => {
      calls.push('RemovePodSandbox');
      sandboxes.delete(req.pod_sandbox_id!);
    },
  };
  // Anything else (image pulls, containers) fails: the worker retries later, which is enough here.
  const runtime = new Proxy(known, { get: (t, name: string) => t[name] ?? (async () => Promise.reject(new Error(`not faked: ${name}`))) });
  return { runtime, calls, release, stopStarted };
}

function context(runtime: unknown): WorkerContext {
  return {
    cri: { runtime, image: new Proxy({}, { get: () => async () => Promise.reject(new Error('no images here')) }) },
    nodeName: 'node-a',
    hostIP: '10.0.0.1',
    logRoot: LOG_ROOT,
    cgroups: { ensurePod: async () => '/kubepods/test', removePod: async () => undefined, containerResources: () => ({}) },
    volumes: { prepare: async () => ({}), cleanup: async () => undefined },
    events: { record: () => undefined },
    backoff: { next: () => 0, delay: () => 0, forgetPrefix: () => undefined },
    startProbes: () => () => undefined,
    runHandler: async () => undefined,
    removeContainerLogs: async () => undefined,
    logger: silentLogger,
    onStatus: () => undefined,
  } as unknown as WorkerContext;
}

async function until(what: () => boolean, label: string): Promise<void> {
  for (let i = 0; i < 2000 && !what(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(what(), label);
}

it('a pod handed over again while its worker is tearing it down gets a new worker and runs again', async () => {
  const { runtime, calls, release, stopStarted } = fakeRuntime();
  const manager = new PodManager({ ctx: context(runtime), admit: () => ({ admit: true }), logger: silentLogger });
  manager.setSource('scheduler', [web()]);
  await until(() => calls.includes('RunPodSandbox'), 'the pod got a sandbox');
  const first = manager.worker('uid-web')!;

  manager.setSource('scheduler', []); // removed: its worker tears it down (slowly)
  await stopStarted;
  manager.setSource('scheduler', [web()]); // wanted again before the teardown is done
  release();
  await first.done;
  await until(() => calls.filter((c) => c === 'RunPodSandbox').length === 2, `the pod runs again: ${calls.join(', ')}`);
  const second = manager.worker('uid-web');
  assert.ok(second && second !== first, 'a new worker for the pod');
  assert.deepEqual(manager.pods().map((p) => p.metadata.name), ['web']);

  // Removed for good: the new worker goes, and nothing comes back.
  manager.setSource('scheduler', []);
  await second.done;
  await new Promise((r) => setImmediate(r));
  assert.equal(manager.worker('uid-web'), undefined);
});
