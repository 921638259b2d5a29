/**
 * Graceful endpoint removal (issue 12, point 5): a deleted pod that is a Service endpoint hears of
 * its deletion (preStop, SIGTERM) only after this node's rules dropped it and the propagation delay
 * passed; the proxy's syncs are serialized and coalesced, and a failed one is retried.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PodWorker, type WorkerContext } from '../../../src/agent/pod-worker.js';
import { NodeServices, ProxySyncLoop, type ProxyApplier, SERVICES_DEFAULTS } from '../../../src/agent/services/index.js';
import type { ProxyState } from '../../../src/agent/proxy/index.js';
import { decodePods, type Pod, type PodStatus } from '../../../src/api/index.js';
import { Backoff } from '../../../src/lib/backoff.js';
import { silentLogger } from '../../../src/lib/index.js';
import { FakeCri } from './fake-cri.js';
import { msg, service, slice } from './services-fixtures.js';

const LOG_ROOT = mkdtempSync(join(tmpdir(), 'corelet-svchold-'));
after(() => rmSync(LOG_ROOT, { recursive: true, force: true }));

/** A proxy whose syncs end when the test says; it records each state it was given. */
class GatedApplier implements ProxyApplier {
  readonly states: ProxyState[] = [];
  private gates: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private arrived: (() => void)[] = [];
  sync(state: ProxyState): Promise<{ warnings: string[] }> {
    this.states.push(state);
    for (const a of this.arrived.splice(0)) a();
    return new Promise((resolve, reject) => this.gates.push({ resolve: () => resolve({ warnings: [] }), reject }));
  }
  /** Waits until n syncs have started. */
  async started(n: number): Promise<void> {
    while (this.states.length < n) await new Promise<void>((r) => this.arrived.push(r));
  }
  finish(): void {
    this.gates.shift()!.resolve();
  }
  fail(): void {
    this.gates.shift()!.reject(new Error('nft: boom'));
  }
}

const ips = (s: ProxyState) => s.endpoints.flatMap((e) => e.endpoints.filter((x) => x.ready).map((x) => x.ip));
const tick = () => new Promise<void>((r) => setImmediate(r));

describe('ProxySyncLoop', () => {
  it('runs one sync at a time; changes arriving meanwhile are carried by one next sync of the newest state', async () => {
    const applier = new GatedApplier();
    let gen = 1;
    const loop = new ProxySyncLoop({ applier, snapshot: () => ({ state: { services: [], endpoints: [], nodeAddresses: [`10.0.0.${gen}`] }, generation: gen }), logger: silentLogger });
    loop.request();
    await applier.started(1);
    for (gen = 2; gen <= 4; gen++) loop.request();
    gen = 4;
    applier.finish();
    await applier.started(2);
    assert.equal(loop.appliedGeneration, 1);
    assert.deepEqual(applier.states[1]!.nodeAddresses, ['10.0.0.4']);
    const applied = loop.waitForGeneration(4, Date.now() + 60_000);
    applier.finish();
    assert.equal(await applied, true);
    await tick();
    assert.equal(applier.states.length, 2, 'three requests during a sync make one more sync, not three');
    await loop.stop();
  });

  it('a failed sync is retried (with back-off) until it applies', async () => {
    const applier = new GatedApplier();
    const seen: string[] = [];
    const loop = new ProxySyncLoop({
      applier,
      snapshot: () => ({ state: { services: [], endpoints: [], nodeAddresses: [] }, generation: 7 }),
      logger: silentLogger,
      retryInitialMs: 1,
      onFailed: () => seen.push('failed'),
      onSynced: (g) => seen.push(`synced ${g}`),
    });
    loop.request();
    await applier.started(1);
    applier.fail();
    await applier.started(2);
    assert.equal(loop.appliedGeneration, 0);
    applier.finish();
    assert.equal(await loop.waitForGeneration(7, Date.now() + 60_000), true);
    assert.deepEqual(seen, ['failed', 'synced 7'], 'what the metrics see');
    await loop.stop();
  });

  it('a change arriving during the back-off after a failure is synced promptly, not after the back-off', async () => {
    const applier = new GatedApplier();
    let gen = 1;
    let failed!: () => void;
    const failure = new Promise<void>((r) => (failed = r));
    const loop = new ProxySyncLoop({
      applier,
      snapshot: () => ({ state: { services: [], endpoints: [], nodeAddresses: [`10.0.0.${gen}`] }, generation: gen }),
      logger: silentLogger,
      retryInitialMs: 3_600_000, // a back-off nobody waits out
      retryOnChangeAfterMs: 0,
      onFailed: () => failed(),
    });
    try {
      loop.request();
      await applier.started(1);
      applier.fail();
      await failure;
      await tick(); // the loop is in its back-off now
      gen = 2;
      const applied = loop.waitForGeneration(2, Date.now() + 10_000);
      loop.request();
      await Promise.race([applier.started(2), applied]);
      assert.equal(applier.states.length, 2, 'the new change started a sync during the back-off');
      assert.deepEqual(applier.states[1]!.nodeAddresses, ['10.0.0.2']);
      applier.finish();
      assert.equal(await applied, true);
    } finally {
      await loop.stop(); // ends the back-off when the assertions failed
    }
  });

  it('a change requested as the loop finishes (from a waiter of the last sync) is not lost', async () => {
    const applier = new GatedApplier();
    let gen = 1;
    const loop = new ProxySyncLoop({ applier, snapshot: () => ({ state: { services: [], endpoints: [], nodeAddresses: [`10.0.0.${gen}`] }, generation: gen }), logger: silentLogger });
    loop.request();
    await applier.started(1);
    // Runs after the loop saw nothing left to do, before it marks itself idle.
    void loop.waitForGeneration(1, Date.now() + 60_000).then(() => {
      gen = 2;
      loop.request();
    });
    const applied = loop.waitForGeneration(2, Date.now() + 10_000);
    applier.finish();
    await Promise.race([applier.started(2), applied]);
    assert.equal(applier.states.length, 2, 'the request made a sync');
    applier.finish();
    assert.equal(await applied, true);
    assert.equal(loop.appliedGeneration, 2);
    await loop.stop();
  });
});

describe('NodeServices.holdForEndpointRemoval', () => {
  function setup() {
    const applier = new GatedApplier();
    const sleeps: number[] = [];
    const s = new NodeServices({
      config: SERVICES_DEFAULTS,
      hostIP: '10.81.0.11',
      logger: silentLogger,
      applier,
      dnsServer: false,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
    return { applier, sleeps, s };
  }

  it('waits for the slice update marking the pod terminating, then for this node\'s rules, then the propagation delay', async () => {
    const { applier, sleeps, s } = setup();
    s.onServices(msg({ reset: true, services: [service('api')], endpointSlices: [slice('api', [['a1', '10.244.1.5', true], ['a2', '10.244.2.5', true]])] }));
    await applier.started(1);
    applier.finish();

    let outcome: string | undefined;
    const hold = s.holdForEndpointRemoval('pod-a1', Date.now() + 60_000).then((o) => (outcome = o));
    await tick();
    assert.equal(outcome, undefined, 'still an endpoint: held');

    s.onServices(msg({ endpointSlices: [slice('api', [['a1', '10.244.1.5', false, true], ['a2', '10.244.2.5', true]])] }));
    await applier.started(2);
    assert.deepEqual(ips(applier.states[1]!), ['10.244.2.5'], 'the sync under way drops the terminating endpoint');
    await tick();
    assert.equal(outcome, undefined, 'held until that sync is applied');
    assert.deepEqual(sleeps, []);

    applier.finish();
    assert.equal(await hold, 'removed');
    assert.deepEqual(sleeps, [1000], 'then the propagation delay for the other nodes');
    await s.stop();
  });

  it('a pod that is no active endpoint is not held; a hold ends at its bound', async () => {
    const { applier, s } = setup();
    s.onServices(msg({ reset: true, services: [service('api')], endpointSlices: [slice('api', [['a1', '10.244.1.5', true], ['gone', '10.244.1.6', false, true]])] }));
    await applier.started(1);
    applier.finish();
    assert.equal(await s.holdForEndpointRemoval('pod-gone', Date.now() + 60_000), 'not-an-endpoint');
    assert.equal(await s.holdForEndpointRemoval('pod-other', Date.now() + 60_000), 'not-an-endpoint');
    // no slice update ever comes: the bound (here: now) ends the hold
    assert.equal(await s.holdForEndpointRemoval('pod-a1', Date.now()), 'timeout');
    await s.stop();
  });
});

describe('PodWorker with beforeStop', () => {
  it('a deleted pod: beforeStop resolves before preStop runs and before the container is stopped', async () => {
    const cri = new FakeCri();
    cri.images.add('registry.test/app:1');
    const order: string[] = [];
    let last: PodStatus | undefined;
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let stopAsked!: () => void;
    const asked = new Promise<void>((r) => (stopAsked = r));
    const ctx = {
      cri: { runtime: cri.runtime, image: cri.image },
      nodeName: 'node-a',
      hostIP: '10.0.0.1',
      logRoot: LOG_ROOT,
      cgroups: { ensurePod: async () => '/kubepods/test', removePod: async () => undefined, containerResources: () => ({}) },
      volumes: { prepare: async () => ({}), cleanup: async () => undefined, prepareSubPath: async () => '' },
      events: { record: () => undefined },
      backoff: new Backoff({ initialMs: 0, maxMs: 0, resetMs: 600_000 }),
      startProbes: () => () => undefined,
      runHandler: async () => {
        order.push(`preStop (StopContainer calls so far: ${cri.calls.filter((c) => c.startsWith('StopContainer')).length})`);
      },
      removeContainerLogs: async () => undefined,
      logger: silentLogger,
      onStatus: (_p: Pod, s: PodStatus) => (last = s),
      beforeStop: async (p: Pod, untilMs: number) => {
        order.push(`beforeStop ${p.metadata.name} (deadline ahead: ${untilMs > Date.now()})`);
        stopAsked();
        await released;
        order.push('released');
      },
    } as unknown as WorkerContext;
    const p = decodePods(
      `apiVersion: v1
kind: Pod
metadata: { name: web, namespace: default, uid: uid-hold }
spec:
  terminationGracePeriodSeconds: 30
  containers:
  - name: app
    image: registry.test/app:1
    lifecycle: { preStop: { exec: { command: [sh, -c, "true"] } } }
`,
      'test',
    ).pods[0]!;
    const w = new PodWorker(ctx, p);
    while (last?.containerStatuses[0]?.state.running === undefined) await new Promise((r) => setTimeout(r, 10));
    w.terminateBy(Date.now() + 30_000);
    w.delete();
    await asked;
    await tick();
    assert.deepEqual(cri.calls.filter((c) => c.startsWith('StopContainer')), [], 'nothing stopped while held');
    assert.deepEqual(order, ['beforeStop web (deadline ahead: true)']);
    release();
    await w.done;
    assert.deepEqual(order, ['beforeStop web (deadline ahead: true)', 'released', 'preStop (StopContainer calls so far: 0)']);
    assert.equal(cri.calls.filter((c) => c.startsWith('StopContainer')).length, 1);
  });
});

describe("NodeServices and the cluster's pod CIDR", () => {
  it("follows the scheduler's cluster CIDR unless --cluster-cidr is given", async () => {
    const run = async (flag: string) => {
      const applier = new GatedApplier();
      const s = new NodeServices({ config: { ...SERVICES_DEFAULTS, clusterCIDR: flag }, hostIP: '10.81.0.11', logger: silentLogger, applier, dnsServer: false });
      s.onServices(msg({ reset: true, clusterCIDR: '10.50.0.0/16', services: [service('api')] }));
      await applier.started(1);
      applier.finish();
      await s.stop();
      return applier.states.at(-1)!.clusterCIDR;
    };
    assert.equal(await run(''), '10.50.0.0/16', "the flag's default: the scheduler's");
    assert.equal(await run('10.244.0.0/16'), '10.244.0.0/16', 'the flag wins');
  });
});

describe('NodeServices and a dropped batch', () => {
  it('asks for a new snapshot when the cache drops a batch', async () => {
    let resyncs = 0;
    const s = new NodeServices({ config: SERVICES_DEFAULTS, hostIP: '10.81.0.11', logger: silentLogger, applier: new GatedApplier(), dnsServer: false, resync: () => resyncs++ });
    (s as unknown as { cache: ServiceCacheLike }).cache = { receive: () => { throw new Error('overflow'); } } as unknown as ServiceCacheLike;
    s.onServices(msg({ reset: true }));
    assert.equal(resyncs, 1);
    await s.stop();
  });
});
type ServiceCacheLike = { receive: () => never };
