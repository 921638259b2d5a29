/**
 * Graceful deletion through the agent's scheduler link, against a real scheduler server: the
 * deletion's grace period reaches the pod worker, the pod leaves the desired set, and the agent's
 * `podTerminated` removes the terminating pod object.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from '../../../src/api/index.js';
import type { Pki } from '../../../src/scheduler/auth/index.js';
import { sendTermination } from '../../../src/scheduler/server/index.js';
import { deletePod } from '../../../src/scheduler/controllers/index.js';
import type { ObjectInput } from '../../../src/scheduler/store/index.js';
import { bootstrapNode, makePki } from '../scheduler/server-helpers.js';
import { linkTo, serverWithBoundPod } from './link-helpers.js';

describe('scheduler link and graceful deletion', () => {
  let pki: Pki;
  before(async () => {
    pki = await makePki();
  });

  it('hands the deletion grace period to the worker, drops the pod, and its confirmation removes the object', async (t) => {
    const { store, tokens, server } = await serverWithBoundPod(t, pki, { pod: 'web', node: 'node-a' });

    const handed: Pod[][] = [];
    const terminations: { uid: string; pod: Pod | undefined; deadlineMs: number }[] = [];
    let wake: () => void = () => {};
    const handedOver = () => new Promise<void>((resolve) => (wake = resolve));
    let unassigned: (uid: string) => void = () => {};
    const gotUnassign = new Promise<string>((resolve) => (unassigned = resolve));
    const creds = await bootstrapNode(server, pki, tokens.bootstrap, 'node-a', { ips: ['192.168.56.11'] });
    const link = linkTo(server, creds, { name: 'node-a', ip: '192.168.56.11' }, {
      setPods: (list: Pod[]) => {
        handed.push(list);
        wake();
      },
      onUnassigned: (uid) => unassigned(uid),
      onTerminate: (uid, pod, deadlineMs) => terminations.push({ uid, pod, deadlineMs }),
    });
    t.after(() => link.close());
    let first = handedOver();
    await link.start();
    await first;
    assert.deepEqual(handed.at(-1)!.map((p) => p.metadata.name), ['web']);
    assert.equal(handed.at(-1)![0]!.spec.terminationGracePeriodSeconds, 30);

    const uid = store.get<Pod>('Pod', 'default', 'web')!.metadata.uid;
    first = handedOver();
    const deletion = deletePod(store, 'default', 'web', new Date(), 7)!;
    assert.equal(deletion.removed, false);
    sendTermination(server.sessions, deletion.pod as unknown as Pod);
    assert.equal(await gotUnassign, uid);
    await first;
    // The worker is told to stop the pod within the deletion's grace period (7 s, not the spec's 30).
    assert.equal(terminations.length, 1);
    assert.equal(terminations[0]!.uid, uid);
    assert.equal(terminations[0]!.pod?.metadata.name, 'web');
    const left = terminations[0]!.deadlineMs - Date.now();
    assert.ok(left > 0 && left <= 7000, `deadline in ${left} ms`);
    assert.deepEqual(handed.at(-1), []);
    assert.ok(store.get('Pod', 'default', 'web'), 'still Terminating: the agent has not confirmed yet');

    // A second, shorter delete (--grace-period=1) reaches the worker although the pod already left the desired set.
    const again = deletePod(store, 'default', 'web', new Date(), 1)!;
    sendTermination(server.sessions, again.pod as unknown as Pod);
    while (terminations.length < 2) await new Promise((r) => setTimeout(r, 10));
    assert.equal(terminations[1]!.uid, uid);
    assert.ok(terminations[1]!.deadlineMs < terminations[0]!.deadlineMs, 'shortened');
    assert.ok(terminations[1]!.deadlineMs - Date.now() <= 1000);

    assert.equal(link.podTerminated(uid), true);
    while (store.get('Pod', 'default', 'web')) await new Promise((r) => setTimeout(r, 20));
  });

  it('a restarted agent gets a Terminating pod as a termination with the time left (in the quiet window after register), never as a pod to run', async (t) => {
    const { store, tokens, server } = await serverWithBoundPod(t, pki, { pod: 'db', node: 'node-b' });
    const creds = await bootstrapNode(server, pki, tokens.bootstrap, 'node-b', { ips: ['192.168.56.12'] });
    store.create('Node', { metadata: { name: 'node-b' }, spec: {}, status: { conditions: [] } } as unknown as ObjectInput);
    // Deleted with 300 s while the agent was down.
    const deletion = deletePod(store, 'default', 'db', new Date(Date.now() - 100_000), 300)!;
    assert.equal(deletion.removed, false);
    const uid = deletion.pod.metadata.uid;
    const handed: Pod[][] = [];
    const terminations: { uid: string; pod: Pod | undefined; deadlineMs: number }[] = [];
    let synced: () => void = () => {};
    const handedOver = new Promise<void>((resolve) => (synced = resolve));
    let unassigned = false;
    const link = linkTo(server, creds, { name: 'node-b', ip: '192.168.56.12' }, {
      setPods: (list: Pod[]) => {
        handed.push(list);
        synced();
      },
      onUnassigned: () => (unassigned = true),
      onTerminate: (u, pod, deadlineMs) => terminations.push({ uid: u, pod, deadlineMs }),
    });
    t.after(() => link.close());
    await link.start();
    await handedOver;
    assert.ok(unassigned);
    assert.ok(terminations.length >= 1 && terminations.every((x) => x.uid === uid));
    assert.ok(terminations[0]!.pod?.metadata.deletionTimestamp, 'the worker gets the pod (its preStop) with its deletionTimestamp');
    const left = Math.min(...terminations.map((x) => x.deadlineMs)) - Date.now();
    assert.ok(left > 190_000 && left <= 200_000, `about 200 s of 300 left: ${left} ms`);
    assert.ok(handed.every((list) => list.length === 0), 'never handed over as a pod to run');
  });
});
