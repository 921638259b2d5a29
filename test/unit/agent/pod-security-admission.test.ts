/**
 * Pod Security on the agent: the pod manager refuses a pod that violates its level before anything
 * of it exists: status Failed with reason PodSecurity and the Pod Security Standards' message, a
 * Warning event, and no call that would create anything in the runtime (no volume, no cgroup, no
 * sandbox). Static pods are judged by --static-pod-security, the scheduler's by the level it states.
 */
import { after, describe, it } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { decodePods, parseMessage, type Pod, type PodSecurityLevel, type PodStatus } from '../../../src/api/index.js';
import { admitPodSecurity } from '../../../src/agent/admission/index.js';
import { EventRecorder } from '../../../src/agent/events.js';
import { PodManager } from '../../../src/agent/pod-manager.js';
import { silentLogger } from '../../../src/lib/index.js';

/** The pod log folders the worker makes before RunPodSandbox. */
const LOG_ROOT = mkdtempSync(join(tmpdir(), 'corelet-podlogs-'));
after(() => rmSync(LOG_ROOT, { recursive: true, force: true }));

const HOSTPATH = `apiVersion: v1
kind: Pod
metadata: { name: host, uid: host-uid }
spec:
  containers: [{ name: app, image: busybox, volumeMounts: [{ name: etc, mountPath: /host }] }]
  volumes: [{ name: etc, hostPath: { path: /etc } }]
`;

const pod = (text: string): Pod => decodePods(text, 'test.yaml').pods[0]!;

/** A pod manager whose runtime and host adapters only record what they were asked. */
function harness(level: PodSecurityLevel) {
  const calls: string[] = [];
  const statuses: PodStatus[] = [];
  const runtime = new Proxy(
    {},
    {
      get: (_t, name: string) => async () => {
        calls.push(`cri.${name}`);
        if (name === 'ListPodSandbox') return { items: [] };
        throw new Error(`unexpected CRI call ${name}`);
      },
    },
  );
  const recording = (prefix: string) =>
    new Proxy(
      {},
      {
        get: (_t, name: string) => async () => {
          calls.push(`${prefix}.${name}`);
        },
      },
    );
  const events = new EventRecorder('node-a');
  const manager = new PodManager({
    logger: silentLogger,
    admit: (p, _active, source) => (source === 'file' ? admitPodSecurity(p, level) : { admit: true }),
    ctx: {
      cri: { runtime, image: recording('image') } as never,
      nodeName: 'node-a',
      hostIP: '10.0.0.1',
      logRoot: LOG_ROOT,
      cgroups: recording('cgroups') as never,
      volumes: recording('volumes') as never,
      events,
      backoff: recording('backoff') as never,
      startProbes: (() => ({ stop: () => undefined })) as never,
      runHandler: (async () => undefined) as never,
      logger: silentLogger,
      onStatus: (_p, s) => statuses.push(s),
    },
  });
  return { manager, calls, statuses, events };
}

async function until<T>(what: () => T | undefined): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = what();
    if (v !== undefined) return v;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error('condition never held');
}

describe('Pod Security admission on the agent', () => {
  it('refuses a violating static pod without creating anything: Failed, PodSecurity, the message, a Warning event', async () => {
    const { manager, calls, statuses, events } = harness('baseline');
    manager.setSource('file', [pod(HOSTPATH)]);
    const status = await until(() => statuses.at(-1));
    assert.equal(status.phase, 'Failed');
    assert.equal(status.reason, 'PodSecurity');
    assert.equal(status.message, 'pods "host" is forbidden: violates PodSecurity "baseline:latest": hostPath volumes (volume "etc")');
    const event = events.list().find((e) => e.reason === 'PodSecurity');
    assert.equal(event?.type, 'Warning');
    assert.equal(event?.message, status.message);
    // Only a look for leftovers of the pod (a sandbox an earlier agent may have started); nothing made.
    assert.deepEqual([...new Set(calls)], ['cri.ListPodSandbox']);
    assert.equal(manager.activePods().length, 0, 'a refused pod takes no room on the node');
  });

  it('runs what the level allows: privileged lets the same pod through to the sync', async () => {
    const { manager, calls } = harness('privileged');
    manager.setSource('file', [pod(HOSTPATH)]);
    await until(() => (calls.includes('volumes.prepare') ? true : undefined));
  });

  it('judges by the level given: restricted refuses a plain pod with every restricted check it fails', () => {
    const plain = pod('apiVersion: v1\nkind: Pod\nmetadata: { name: plain }\nspec: { containers: [{ name: app, image: busybox }] }\n');
    assert.deepEqual(admitPodSecurity(plain, 'baseline'), { admit: true });
    const r = admitPodSecurity(plain, 'restricted');
    assert.equal(r.admit, false);
    assert.match(r.admit ? '' : r.message, /^pods "plain" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
  });

  it('the assign message carries the namespace level, strictly validated', () => {
    const raw = { v: 1, type: 'assign', pod: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', uid: 'u1' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } };
    const ok = parseMessage(JSON.stringify({ ...raw, podSecurity: 'restricted' }), { receiver: 'agent' });
    assert.equal(ok.type === 'assign' && ok.podSecurity, 'restricted');
    const none = parseMessage(JSON.stringify(raw), { receiver: 'agent' });
    assert.equal(none.type === 'assign' && none.podSecurity, undefined);
    assert.throws(() => parseMessage(JSON.stringify({ ...raw, podSecurity: 'lenient' }), { receiver: 'agent' }), /message\.assign\.podSecurity: unsupported value "lenient" \(supported: privileged, baseline, restricted\)/);
    assert.throws(() => parseMessage(JSON.stringify({ ...raw, podSecurity: 3 }), { receiver: 'agent' }), /podSecurity/);
  });
});
