/** Shared fixtures for the controller tests: deployments from manifests, simulated agents. */
import { decodeObjects, type Pod } from '../../../src/api/index.js';
import type { Store, StoredObject } from '../../../src/scheduler/store/index.js';
import { isPodReady } from '../../../src/scheduler/controllers/index.js';

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
