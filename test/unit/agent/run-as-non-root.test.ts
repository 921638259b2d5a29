/**
 * runAsNonRoot as the kubelet verifies it: an image whose USER is a name (`USER toor`, with
 * `toor:x:0:0` in its /etc/passwd) cannot be shown to be non-root, so a pod with runAsNonRoot and
 * no runAsUser is refused with CreateContainerConfigError and a Failed event, and no container is
 * created. Through the real PodWorker with a fake CRI (no root needed).
 */
import { after, test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { PodWorker, type WorkerContext } from '../../../src/agent/pod-worker.js';
import { imageUserOf, runAsNonRootProblem } from '../../../src/agent/run-as-non-root.js';
import { decodePods, type Pod, type PodStatus } from '../../../src/api/index.js';
import { imageUser } from '../../../src/runtime/image/index.js';

/** The pod log folders the worker makes before RunPodSandbox. */
const LOG_ROOT = mkdtempSync(join(tmpdir(), 'corelet-podlogs-'));
after(() => rmSync(LOG_ROOT, { recursive: true, force: true }));

function pod(security: string, containerSecurity = ''): Pod {
  const yaml = `apiVersion: v1
kind: Pod
metadata: { name: app, namespace: team }
spec:
  securityContext: ${security}
  containers:
    - name: app
      image: registry.test/toor:1
${containerSecurity ? `      securityContext: ${containerSecurity}\n` : ''}`;
  return decodePods(yaml, 'test').pods[0]!;
}

/** The CRI Image the runtime reports for an image config's User (as service/images.ts builds it, and gRPC sends a uid: a string). */
function criImage(user: string): { uid: { value: string } | null; username: string } {
  const u = imageUser(user);
  return { uid: u.uid !== undefined ? { value: String(u.uid) } : null, username: u.username };
}

test('the kubelet rules: runAsUser first, then a numeric image user; a named image user cannot be verified', () => {
  const nonRoot = pod('{ runAsNonRoot: true }');
  const check = (p: Pod, user: string) => runAsNonRootProblem(p, p.spec.containers[0]!, imageUserOf(criImage(user)));
  assert.equal(check(nonRoot, 'toor'), 'container has runAsNonRoot and image has non-numeric user (toor), cannot verify user is non-root');
  assert.equal(check(nonRoot, 'toor:toor'), 'container has runAsNonRoot and image has non-numeric user (toor), cannot verify user is non-root');
  assert.equal(check(nonRoot, 'root'), 'container has runAsNonRoot and image has non-numeric user (root), cannot verify user is non-root');
  assert.equal(check(nonRoot, '0'), 'container has runAsNonRoot and image will run as root');
  assert.equal(check(nonRoot, '0:1000'), 'container has runAsNonRoot and image will run as root');
  assert.equal(check(nonRoot, ''), 'container has runAsNonRoot and image will run as root', 'no USER: root');
  assert.equal(check(nonRoot, '1000'), undefined);
  assert.equal(check(nonRoot, '1000:0'), undefined);
  // runAsUser decides when set (pod's or container's): the image's user is not used
  assert.equal(check(pod('{ runAsNonRoot: true, runAsUser: 1000 }'), 'toor'), undefined);
  assert.equal(check(pod('{ runAsNonRoot: true }', '{ runAsUser: 1000 }'), 'toor'), undefined);
  assert.equal(check(pod('{ runAsNonRoot: true, runAsUser: 1000 }', '{ runAsUser: 0 }'), '1000'), "container's runAsUser breaks non-root policy");
  // without runAsNonRoot (or with the container turning it off) nothing is checked
  assert.equal(check(pod('{}'), 'toor'), undefined);
  assert.equal(check(pod('{ runAsNonRoot: true }', '{ runAsNonRoot: false }'), 'toor'), undefined);
});

test('a runAsNonRoot pod whose image has USER toor gets CreateContainerConfigError and an event; nothing is created', async () => {
  const events: string[] = [];
  let created = 0;
  let seen: (status: PodStatus | 'created') => void = () => undefined;
  // resolved by the refusal, or by a container being created (the bug: it would run as uid 0)
  const outcome = new Promise<PodStatus | 'created'>((resolve) => {
    seen = (status) => {
      if (status === 'created' || status.containerStatuses[0]?.state.waiting?.reason === 'CreateContainerConfigError') resolve(status);
    };
  });
  const runtime = {
    ListPodSandbox: async () => ({ items: [] }),
    RunPodSandbox: async () => ({ pod_sandbox_id: 'sb1' }),
    PodSandboxStatus: async () => ({ status: { state: 'SANDBOX_READY', network: { ip: '10.1.0.5' }, created_at: '1' } }),
    ListContainers: async () => ({ containers: [] }),
    CreateContainer: async () => {
      created++;
      seen('created');
      return { container_id: 'c1' };
    },
  };
  const ctx = {
    cri: { runtime, image: { ImageStatus: async () => ({ image: { id: 'sha256:1', ...criImage('toor') } }) } },
    nodeName: 'n1',
    hostIP: '10.0.0.1',
    logRoot: LOG_ROOT,
    cgroups: { ensurePod: async () => '/kubepods/test', containerResources: () => ({}) },
    volumes: { prepare: async () => ({}) },
    events: { record: (_p: Pod, type: string, reason: string, message: string) => events.push(`${type} ${reason}: ${message}`) },
    backoff: { next: () => 0, delay: () => 0 },
    startProbes: () => () => undefined,
    runHandler: async () => undefined,
    logger: { warn: (o: unknown, m: string) => events.push(`log: ${m} ${JSON.stringify(o)}`), info: () => undefined, debug: () => undefined, error: () => undefined },
    onStatus: (_p: Pod, status: PodStatus) => seen(status),
  } as unknown as WorkerContext;
  const p = pod('{ runAsNonRoot: true }');
  p.metadata.uid = 'uid-run-as-non-root';
  new PodWorker(ctx, p);
  const status = await outcome;
  assert.notEqual(status, 'created', 'a container was created for an image user that may be uid 0');
  assert.ok(status !== 'created');
  const message = 'container has runAsNonRoot and image has non-numeric user (toor), cannot verify user is non-root';
  assert.deepEqual(status.containerStatuses[0]?.state.waiting, { reason: 'CreateContainerConfigError', message });
  assert.ok(events.includes(`Warning Failed: Error: ${message}`), events.join('\n'));
  assert.equal(created, 0, 'no container was created');
});
