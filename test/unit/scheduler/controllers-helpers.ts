/** Shared fixtures for the controller tests: deployments from manifests, simulated agents. */
import { decodeObjects, type Node, type Pod, type Taint } from '../../../src/api/index.js';
import type { Store, StoredObject } from '../../../src/scheduler/store/index.js';
import { confirmPodTerminated, isPodReady } from '../../../src/scheduler/controllers/index.js';

/** A Deployment manifest (defaulted by decodeObjects) stored in the store. */
export function createDeployment(
  store: Store,
  name: string,
  opts: { replicas?: number; image?: string; strategy?: string; extraSpec?: string } = {},
): StoredObject {
  const yaml = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: default}
spec:
  replicas: ${opts.replicas ?? 1}
  selector: {matchLabels: {app: ${name}}}
  ${opts.strategy ? `strategy: ${opts.strategy}` : ''}
  ${opts.extraSpec ?? ''}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers: [{name: c, image: "${opts.image ?? 'busybox:1'}"}]
`;
  const [obj] = decodeObjects(yaml, 'test.yaml').objects;
  return store.create('Deployment', obj as never);
}

/** Sets the first container's image of a Deployment's template. */
export function setImage(store: Store, name: string, image: string): void {
  store.mutate<{ spec: { template: { spec: { containers: { image: string }[] } } } }>('Deployment', 'default', name, (d) => {
    d.spec.template.spec.containers[0]!.image = image;
  });
}

/** The pods of the default namespace. */
export function pods(store: Store): (Pod & StoredObject)[] {
  return store.list<Pod & StoredObject>('Pod', { namespace: 'default' });
}

/** What an agent does: bind unbound pods to `node` and report them Running and Ready. */
export function runAll(store: Store, node = 'node-a'): void {
  for (const p of pods(store)) {
    if (!p.spec.nodeName) store.bindPod('default', p.metadata.name, node);
    if (isPodReady(p)) continue;
    store.mutate<Pod>('Pod', 'default', p.metadata.name, (cur) => {
      cur.status = {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }],
        initContainerStatuses: [],
        containerStatuses: [],
      };
    });
  }
}

/** Images of the ready pods, sorted. */
export function readyImages(store: Store): string[] {
  return pods(store)
    .filter(isPodReady)
    .map((p) => p.spec.containers[0]!.image)
    .sort();
}

/** Options of {@link addNode}. */
export interface TestNodeOptions {
  cpu?: string;
  memory?: string;
  ready?: boolean;
  unschedulable?: boolean;
  taints?: Taint[];
  labels?: Record<string, string>;
}

/** Stores a node as an agent registers it (Ready unless told otherwise). */
export function addNode(store: Store, name: string, o: TestNodeOptions = {}): void {
  const allocatable = { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi', pods: '110' };
  store.create('Node', {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...o.labels } },
    spec: { taints: o.taints ?? [], unschedulable: o.unschedulable ?? false },
    status: {
      capacity: { ...allocatable },
      allocatable,
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }],
      addresses: [],
      nodeInfo: {},
    },
  });
}

/** Sets a node's Ready condition, changed at `since`. */
export function setNodeReady(store: Store, name: string, ready: boolean, since: Date): void {
  store.mutate<Node>('Node', '', name, (n) => {
    n.status.conditions = [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: since.toISOString() }];
  });
}

/** What an agent reports for a bound pod: Running, and Ready or not. */
export function reportPod(store: Store, name: string, ready = true): void {
  store.mutate<Pod>('Pod', 'default', name, (cur) => {
    if (!cur.spec.nodeName) throw new Error(`pod ${name} is not bound: no agent runs it`);
    cur.status = {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: '2026-01-01T00:00:00Z' }],
      initContainerStatuses: [],
      containerStatuses: [],
    };
  });
}

/** Reports every bound pod of the default namespace that is not Ready yet as Running and Ready. */
export function readyAllBound(store: Store): void {
  for (const p of pods(store)) if (p.spec.nodeName && !isPodReady(p)) reportPod(store, p.metadata.name);
}

/**
 * What the nodes' agents do with terminating pods: stop them and confirm (`podTerminated`), after
 * which the scheduler removes the objects. Returns the names removed.
 */
export function confirmTerminations(store: Store): string[] {
  const removed: string[] = [];
  for (const p of store.list<Pod & StoredObject>('Pod')) {
    if (p.metadata.deletionTimestamp === undefined || !p.spec.nodeName) continue;
    if (confirmPodTerminated(store, p.spec.nodeName, p.metadata.uid)) removed.push(p.metadata.name);
  }
  return removed;
}
