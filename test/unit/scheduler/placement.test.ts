import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerPort, Node, Pod, Taint, Toleration } from '../../../src/api/index.js';
import { ClusterSnapshot, schedule, type ScheduleResult } from '../../../src/scheduler/placement/index.js';

interface NodeOpts {
  cpu?: string;
  memory?: string;
  pods?: string;
  ready?: boolean;
  unschedulable?: boolean;
  taints?: Taint[];
  labels?: Record<string, string>;
}

function node(name: string, o: NodeOpts = {}): Node {
  const allocatable: Record<string, string> = { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi' };
  if (o.pods !== undefined) allocatable.pods = o.pods;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, uid: `uid-${name}`, labels: { 'kubernetes.io/hostname': name, ...o.labels }, annotations: {} },
    spec: { taints: o.taints ?? [], unschedulable: o.unschedulable ?? false },
    status: {
      capacity: { ...allocatable },
      allocatable,
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', reason: 'CoreletReady' }],
      addresses: [{ type: 'InternalIP', address: '10.0.0.1' }],
      nodeInfo: {
        kernelVersion: '6.1.0',
        osImage: 'Debian GNU/Linux 12',
        operatingSystem: 'linux',
        architecture: 'amd64',
        containerRuntimeVersion: 'corelet://0.1.0',
        kubeletVersion: 'corelet-0.1.0',
      },
    },
  };
}

interface PodOpts {
  cpu?: string;
  memory?: string;
  labels?: Record<string, string>;
  owner?: string;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  ports?: Partial<ContainerPort>[];
  nodeName?: string;
}

let uidCounter = 0;
function pod(name: string, o: PodOpts = {}): Pod {
  const requests: Record<string, string> = {};
  if (o.cpu) requests.cpu = o.cpu;
  if (o.memory) requests.memory = o.memory;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      uid: `pod-uid-${name}-${uidCounter++}`,
      labels: o.labels ?? {},
      annotations: {},
      ownerReferences: o.owner ? [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: o.owner, controller: true }] : undefined,
    },
    spec: {
      containers: [
        {
          name: 'c',
          image: 'busybox',
          imagePullPolicy: 'IfNotPresent',
          env: [],
          ports: (o.ports ?? []).map((p) => ({ containerPort: p.hostPort ?? 80, protocol: 'TCP', ...p })),
          resources: { requests, limits: {} },
          volumeMounts: [],
        },
      ],
      initContainers: [],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      hostNetwork: false,
      shareProcessNamespace: false,
      dnsPolicy: 'ClusterFirst',
      volumes: [],
      nodeSelector: o.nodeSelector ?? {},
      tolerations: o.tolerations ?? [],
      nodeName: o.nodeName,
    },
  };
}

function unschedulable(r: ScheduleResult): { reasons: Record<string, string>; message: string } {
  assert.equal(r.node, undefined, `expected no node, got ${r.node}`);
  return r as { reasons: Record<string, string>; message: string };
}

/** Schedules and binds count pods made by make(i); returns node name → pods placed. */
function placeAll(snapshot: ClusterSnapshot, count: number, make: (i: number) => Pod): Map<string, number> {
  const placed = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const p = make(i);
    const r = schedule(p, snapshot);
    assert.ok(r.node, `pod ${i}: ${r.node === undefined ? r.message : ''}`);
    snapshot.addPod(p, r.node);
    placed.set(r.node, (placed.get(r.node) ?? 0) + 1);
  }
  return placed;
}

describe('placement filters', () => {
  it('skips nodes that are not Ready', () => {
    const s = new ClusterSnapshot([node('a', { ready: false }), node('b')]);
    assert.deepEqual(schedule(pod('p'), s), { node: 'b' });
    const r = unschedulable(schedule(pod('p'), new ClusterSnapshot([node('a', { ready: false })])));
    assert.deepEqual(r.reasons, { a: 'node(s) were not ready' });
    assert.equal(r.message, '0/1 nodes are available: 1 node(s) were not ready.');
  });

  it('treats a node without a Ready condition as not ready', () => {
    const n = node('a');
    n.status.conditions = [];
    assert.equal(unschedulable(schedule(pod('p'), new ClusterSnapshot([n]))).reasons.a, 'node(s) were not ready');
  });

  it('skips cordoned nodes unless the pod tolerates the unschedulable taint', () => {
    const s = new ClusterSnapshot([node('a', { unschedulable: true })]);
    const r = unschedulable(schedule(pod('p'), s));
    assert.equal(r.message, '0/1 nodes are available: 1 node(s) were unschedulable.');
    const tolerant = pod('p', { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] });
    assert.deepEqual(schedule(tolerant, s), { node: 'a' });
  });

  it('keeps pods off NoSchedule and NoExecute taints they do not tolerate, ignores PreferNoSchedule', () => {
    const s = new ClusterSnapshot([
      node('a', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }),
      node('b', { taints: [{ key: 'maintenance', effect: 'NoExecute' }] }),
    ]);
    const r = unschedulable(schedule(pod('p'), s));
    assert.deepEqual(r.reasons, { a: 'node(s) had untolerated taint {dedicated: gpu}', b: 'node(s) had untolerated taint {maintenance: }' });
    assert.equal(
      r.message,
      '0/2 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) had untolerated taint {maintenance: }.',
    );
    const soft = new ClusterSnapshot([node('c', { taints: [{ key: 'spot', effect: 'PreferNoSchedule' }] })]);
    assert.deepEqual(schedule(pod('p'), soft), { node: 'c' });
  });

  it('keeps pods off a node reporting DiskPressure unless they tolerate node.kubernetes.io/disk-pressure', () => {
    const pressed = node('a');
    pressed.status!.conditions.push({ type: 'DiskPressure', status: 'True', reason: 'KubeletHasDiskPressure' });
    const s = new ClusterSnapshot([pressed]);
    const r = unschedulable(schedule(pod('p'), s));
    assert.deepEqual(r.reasons, { a: 'node(s) had untolerated taint {node.kubernetes.io/disk-pressure: }' });
    const tolerant = pod('p', { tolerations: [{ key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' }] });
    assert.deepEqual(schedule(tolerant, s), { node: 'a' });
    const relieved = node('a');
    relieved.status!.conditions.push({ type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure' });
    assert.deepEqual(schedule(pod('p'), new ClusterSnapshot([relieved])), { node: 'a' });
  });

  it('matches tolerations with Equal and Exists semantics', () => {
    const s = new ClusterSnapshot([node('a', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] })]);
    const cases: [string, Toleration[], boolean][] = [
      ['Equal with the same value', [{ key: 'dedicated', operator: 'Equal', value: 'gpu' }], true],
      ['default operator is Equal', [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }], true],
      ['Equal with another value', [{ key: 'dedicated', operator: 'Equal', value: 'cpu' }], false],
      ['Exists on the key, any value', [{ key: 'dedicated', operator: 'Exists' }], true],
      ['Exists with another effect', [{ key: 'dedicated', operator: 'Exists', effect: 'NoExecute' }], false],
      ['another key', [{ key: 'other', operator: 'Exists' }], false],
      ['empty key with Exists tolerates everything', [{ operator: 'Exists' }], true],
    ];
    for (const [name, tolerations, ok] of cases) {
      assert.equal(schedule(pod('p', { tolerations }), s).node, ok ? 'a' : undefined, name);
    }
  });

  it('requires every nodeSelector label', () => {
    const s = new ClusterSnapshot([node('a', { labels: { disk: 'ssd', zone: 'z1' } }), node('b', { labels: { disk: 'ssd', zone: 'z2' } })]);
    assert.deepEqual(schedule(pod('p', { nodeSelector: { disk: 'ssd', zone: 'z2' } }), s), { node: 'b' });
    const r = unschedulable(schedule(pod('p', { nodeSelector: { disk: 'hdd' } }), s));
    assert.equal(r.message, "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.");
  });

  it('limits the pod count to allocatable pods, 110 by default; pods without requests still count', () => {
    const s = new ClusterSnapshot([node('a', { pods: '2' })], [pod('x', { nodeName: 'a' }), pod('y', { nodeName: 'a' })]);
    const r = unschedulable(schedule(pod('p'), s));
    assert.equal(r.message, '0/1 nodes are available: 1 Too many pods.');
    const d = new ClusterSnapshot([node('b')]);
    placeAll(d, 110, (i) => pod(`q${i}`));
    assert.equal(unschedulable(schedule(pod('p'), d)).reasons.b, 'Too many pods');
  });

  it('fits cpu and memory requests into allocatable minus what is bound, and reports each shortfall', () => {
    const s = new ClusterSnapshot([node('a', { cpu: '1', memory: '1Gi' })], [pod('x', { cpu: '600m', memory: '512Mi', nodeName: 'a' })]);
    assert.deepEqual(schedule(pod('p', { cpu: '400m', memory: '512Mi' }), s), { node: 'a' });
    assert.equal(unschedulable(schedule(pod('p', { cpu: '401m' }), s)).message, '0/1 nodes are available: 1 Insufficient cpu.');
    assert.equal(unschedulable(schedule(pod('p', { memory: '513Mi' }), s)).message, '0/1 nodes are available: 1 Insufficient memory.');
    const both = unschedulable(schedule(pod('p', { cpu: '2', memory: '2Gi' }), s));
    assert.deepEqual(both.reasons, { a: 'Insufficient cpu, Insufficient memory' });
    assert.equal(both.message, '0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory.');
    // A pod that requests nothing fits even on a node whose cpu is fully requested.
    const full = new ClusterSnapshot([node('a', { cpu: '1' })], [pod('x', { cpu: '1', nodeName: 'a' })]);
    assert.deepEqual(schedule(pod('p'), full), { node: 'a' });
  });

  it('refuses a host port another pod holds on the same protocol and IP, with 0.0.0.0 as a wildcard', () => {
    const s = new ClusterSnapshot(
      [node('a')],
      [pod('x', { nodeName: 'a', ports: [{ hostPort: 8080 }] }), pod('y', { nodeName: 'a', ports: [{ hostPort: 9090, hostIP: '10.0.0.1' }] })],
    );
    const cases: [string, Partial<ContainerPort>, boolean][] = [
      ['same port, wildcard both', { hostPort: 8080 }, false],
      ['same port, specific IP against a wildcard', { hostPort: 8080, hostIP: '10.0.0.2' }, false],
      ['same port, other protocol', { hostPort: 8080, protocol: 'UDP' }, true],
      ['wildcard against a specific IP', { hostPort: 9090 }, false],
      ['same specific IP', { hostPort: 9090, hostIP: '10.0.0.1' }, false],
      ['other specific IP', { hostPort: 9090, hostIP: '10.0.0.2' }, true],
      ['free port', { hostPort: 8081 }, true],
    ];
    for (const [name, port, ok] of cases) {
      const r = schedule(pod('p', { ports: [port] }), s);
      if (ok) assert.deepEqual(r, { node: 'a' }, name);
      else assert.equal(unschedulable(r).message, "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports.", name);
    }
  });

  it('places a storage-pinned pod only on the node holding its local volume', () => {
    const s = new ClusterSnapshot([node('a'), node('b', { cpu: '64' }), node('c')]);
    // b would win on free resources; the volume decides.
    assert.deepEqual(schedule(pod('db-0', { cpu: '1' }), s, { requiredNode: 'c' }), { node: 'c' });
    const full = new ClusterSnapshot([node('a'), node('b'), node('c', { cpu: '1' })], [pod('x', { cpu: '1', nodeName: 'c' })]);
    const r = unschedulable(schedule(pod('db-0', { cpu: '500m' }), full, { requiredNode: 'c' }));
    assert.deepEqual(r.reasons, { a: "node(s) didn't have the pod's local volume", b: "node(s) didn't have the pod's local volume", c: 'Insufficient cpu' });
    assert.equal(r.message, "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't have the pod's local volume.");
    const gone = unschedulable(schedule(pod('db-0'), s, { requiredNode: 'z' }));
    assert.equal(gone.message, "0/3 nodes are available: 3 node(s) didn't have the pod's local volume.");
  });

  it('places a controller-pinned pod (a DaemonSet pod) only on its node, which must still fit it', () => {
    const s = new ClusterSnapshot([node('a', { cpu: '64' }), node('b', { cpu: '1' })]);
    assert.deepEqual(schedule(pod('ds-x', { cpu: '500m' }), s, { pinnedNode: 'b' }), { node: 'b' });
    const r = unschedulable(schedule(pod('ds-y', { cpu: '2' }), s, { pinnedNode: 'b' }));
    assert.deepEqual(r.reasons, { a: "node(s) didn't match Pod's node affinity/selector", b: 'Insufficient cpu' });
    const cordoned = new ClusterSnapshot([node('a', { unschedulable: true })]);
    const tolerant = pod('ds-z', { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] });
    assert.deepEqual(schedule(tolerant, cordoned, { pinnedNode: 'a' }), { node: 'a' }, 'a daemon pod tolerating the cordon runs there');
    assert.equal(unschedulable(schedule(pod('plain'), cordoned, { pinnedNode: 'a' })).reasons.a, 'node(s) were unschedulable');
  });

  it('counts reasons across nodes in one kube-scheduler style message', () => {
    const s = new ClusterSnapshot([node('a', { cpu: '1', labels: { disk: 'ssd' } }), node('b'), node('c')]);
    const r = unschedulable(schedule(pod('p', { cpu: '2', nodeSelector: { disk: 'ssd' } }), s));
    assert.equal(r.message, "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector.");
    const mixed = new ClusterSnapshot([node('a', { cpu: '1' }), node('b', { ready: false }), node('c', { pods: '0' }), node('d', { cpu: '1', memory: '1Gi' })]);
    const r2 = unschedulable(schedule(pod('p', { cpu: '5', memory: '2Gi' }), mixed));
    assert.deepEqual(r2.reasons, {
      a: 'Insufficient cpu',
      b: 'node(s) were not ready',
      c: 'Too many pods, Insufficient cpu',
      d: 'Insufficient cpu, Insufficient memory',
    });
    assert.equal(r2.message, '0/4 nodes are available: 1 Insufficient memory, 1 Too many pods, 1 node(s) were not ready, 3 Insufficient cpu.');
  });

  it('says so when there are no nodes', () => {
    assert.equal(unschedulable(schedule(pod('p'), new ClusterSnapshot())).message, 'no nodes available to schedule pods');
  });
});

describe('placement scores', () => {
  it('picks the emptier node (least allocated)', () => {
    const s = new ClusterSnapshot([node('a'), node('b')], [pod('x', { cpu: '2', memory: '4Gi', nodeName: 'a' })]);
    assert.deepEqual(schedule(pod('p', { cpu: '500m', memory: '1Gi' }), s), { node: 'b' });
    // Best-effort pods count as 100m / 200Mi for scoring, so they also move to the emptier node.
    const be = new ClusterSnapshot([node('a'), node('b')], [pod('x', { nodeName: 'a' }), pod('y', { nodeName: 'a' })]);
    assert.deepEqual(schedule(pod('p'), be), { node: 'b' });
  });

  it('prefers the node whose cpu and memory stay balanced', () => {
    // Equal least-allocated score on both; a is cpu-heavy, b is even.
    const s = new ClusterSnapshot(
      [node('a', { cpu: '4', memory: '4Gi' }), node('b', { cpu: '4', memory: '4Gi' })],
      [pod('x', { cpu: '2', memory: '1Mi', nodeName: 'a' }), pod('y', { cpu: '1', memory: '1Gi', nodeName: 'b' })],
    );
    const p = pod('p', { cpu: '400m', memory: '400Mi' });
    assert.deepEqual(schedule(p, s, { weights: { leastAllocated: 0, spread: 0 } }), { node: 'b' });
    assert.deepEqual(schedule(p, s), { node: 'b' });
  });

  it('spreads 6 replicas of one owner over 3 nodes, 2 each', () => {
    for (const owned of [(i: number) => pod(`web-${i}`, { owner: 'rs-1', cpu: '100m' }), (i: number) => pod(`web-${i}`, { labels: { app: 'web' } })]) {
      const s = new ClusterSnapshot([node('a'), node('b'), node('c')]);
      assert.deepEqual([...placeAll(s, 6, owned)].sort(), [['a', 2], ['b', 2], ['c', 2]]);
    }
  });

  it('spreads an owner even against a node that looks emptier', () => {
    // c is a bigger node, so least-allocated alone would put every replica there.
    const s = new ClusterSnapshot([node('a'), node('b'), node('c', { cpu: '8', memory: '16Gi' })]);
    const placed = placeAll(s, 3, (i) => pod(`web-${i}`, { owner: 'rs-1', cpu: '100m', memory: '100Mi' }));
    assert.deepEqual([...placed.keys()].sort(), ['a', 'b', 'c']);
  });

  it('is deterministic and round-robins among equal nodes', () => {
    const run = () => {
      const s = new ClusterSnapshot(['a', 'b', 'c', 'd'].map((n) => node(n)));
      const order: string[] = [];
      for (let i = 0; i < 8; i++) {
        const p = pod(`p${i}`, { cpu: '100m', memory: '100Mi' });
        const r = schedule(p, s);
        order.push(r.node!);
        s.addPod(p, r.node!);
      }
      return order;
    };
    const first = run();
    assert.deepEqual(first, run());
    assert.deepEqual(first, ['a', 'b', 'c', 'd', 'a', 'b', 'c', 'd']);
  });

  it('rejects negative weights', () => {
    assert.throws(() => schedule(pod('p'), new ClusterSnapshot([node('a')]), { weights: { spread: -1 } }), /score weight spread/);
  });
});

describe('ClusterSnapshot', () => {
  it('incremental updates equal a snapshot rebuilt from the same nodes and pods', () => {
    const nodes = ['n1', 'n2', 'n3', 'n4'].map((n) => node(n));
    const inc = new ClusterSnapshot(nodes.slice(0, 3));
    const pods: Pod[] = [];
    for (let i = 0; i < 40; i++) {
      const p = pod(`p${i}`, {
        cpu: `${(i % 5) * 100}m`,
        memory: i % 3 ? `${i}Mi` : undefined,
        owner: i % 2 ? 'rs-a' : undefined,
        labels: i % 2 ? {} : { app: 'w' },
        ports: i % 7 === 0 ? [{ hostPort: 7000 + i }] : [],
      });
      const r = schedule(p, inc);
      assert.ok(r.node);
      inc.addPod(p, r.node);
      pods.push({ ...p, spec: { ...p.spec, nodeName: r.node } });
    }
    // Churn: delete some pods, rebind one elsewhere, cordon a node, add a node, remove and re-add one.
    const kept = pods.filter((_, i) => i % 4 !== 0);
    for (const [i, p] of pods.entries()) if (i % 4 === 0) assert.equal(inc.removePod(p, p.spec.nodeName), true);
    assert.equal(inc.removePod(pods[0]), false, 'already removed');
    assert.equal(inc.removePod(kept[0], 'elsewhere'), false, 'stale node name');
    const moved = { ...kept[1], spec: { ...kept[1].spec, nodeName: 'n4' } };
    inc.addPod(moved, 'n4'); // n4 is not a node yet: counted once it appears
    kept[1] = moved;
    inc.addPod(kept[2], kept[2].spec.nodeName!); // a replayed bind does not count twice
    const cordoned = node('n2', { unschedulable: true });
    inc.setNode(cordoned);
    inc.setNode(nodes[3]);
    assert.equal(inc.removeNode('n3'), true);
    inc.setNode(nodes[2]);
    const finalNodes = [nodes[0], cordoned, nodes[2], nodes[3]];

    const rebuilt = new ClusterSnapshot(finalNodes, kept);
    assert.deepEqual(inc.summary(), rebuilt.summary());
    assert.equal(inc.summary().boundPods, kept.length);
    // And the two make the same decisions.
    for (let i = 0; i < 5; i++) {
      const p = pod(`next${i}`, { cpu: '300m', owner: 'rs-a' });
      assert.deepEqual(schedule(p, inc), schedule(p, rebuilt));
    }
  });

  it('keeps pods of a removed node until they are removed, and frees them for scheduling', () => {
    const s = new ClusterSnapshot([node('a', { cpu: '1' })], [pod('x', { cpu: '1', nodeName: 'a' })]);
    assert.equal(schedule(pod('p', { cpu: '1' }), s).node, undefined);
    s.removeNode('a');
    s.setNode(node('a', { cpu: '1' }));
    assert.equal(s.usage('a')!.requested.cpuMillis, 1000);
    assert.equal(s.boundPodCount, 1);
  });

  it('ignores finished and unbound pods when built', () => {
    const done = pod('done', { cpu: '1', nodeName: 'a' });
    done.status = { phase: 'Succeeded', conditions: [], initContainerStatuses: [], containerStatuses: [] };
    const s = new ClusterSnapshot([node('a')], [done, pod('pending', { cpu: '1' })]);
    assert.deepEqual(s.usage('a'), {
      allocatable: { cpuMillis: 4000, memoryBytes: 8 * 1024 ** 3, pods: 110 },
      requested: { cpuMillis: 0, memoryBytes: 0 },
      pods: 0,
      hostPorts: [],
    });
  });

  it('rejects a node with an unreadable allocatable and stays unchanged', () => {
    const s = new ClusterSnapshot([node('a')]);
    assert.throws(() => s.setNode(node('a', { cpu: 'lots' })), /node a: status\.allocatable\.cpu/);
    assert.equal(s.usage('a')!.allocatable.cpuMillis, 4000);
    assert.throws(() => s.setNode(node('b', { memory: '-1Gi' })), /status\.allocatable\.memory/);
    assert.deepEqual(s.nodeNames(), ['a']);
  });
});

describe('placement at scale (sanity, not timed)', () => {
  it('places 10,000 pods over 5,000 nodes, every one, evenly', () => {
    const nodes: Node[] = [];
    for (let i = 0; i < 5000; i++) nodes.push(node(`node-${String(i).padStart(4, '0')}`, { cpu: '8', memory: '32Gi' }));
    const snapshot = new ClusterSnapshot(nodes);
    const pods: Pod[] = [];
    for (let i = 0; i < 10_000; i++) pods.push(pod(`web-${i}`, { owner: `rs-${i % 50}`, cpu: '250m', memory: '256Mi' }));
    const perNode = new Map<string, number>();
    const started = performance.now();
    for (const p of pods) {
      const r = schedule(p, snapshot);
      assert.ok(r.node, 'every pod gets a node');
      snapshot.addPod(p, r.node);
      perNode.set(r.node, (perNode.get(r.node) ?? 0) + 1);
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(`placed 10000 pods over 5000 nodes in ${seconds.toFixed(2)} s (${Math.round(10_000 / seconds)} pods/s)`);
    assert.equal(snapshot.boundPodCount, 10_000);
    assert.equal(perNode.size, 5000, 'every node used');
    assert.deepEqual(new Set(perNode.values()), new Set([2]), 'two pods per node');
    // Each owner's 200 replicas land on 200 different nodes.
    for (const replicas of Object.values(snapshot.summary().owners)) assert.deepEqual(new Set(Object.values(replicas)), new Set([1]));
  });
});
