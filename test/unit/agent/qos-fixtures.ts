/* Pod builders shared by the qos-, admission- and eviction- unit tests. */
import type { Container, Pod } from '../../../src/api/index.js';

/** A container's resources, as written in a manifest. */
export interface Res {
  name?: string;
  requests?: Record<string, string>;
  limits?: Record<string, string>;
}

function container(r: Res, i: number): Container {
  return {
    name: r.name ?? `c${i}`,
    image: 'busybox',
    imagePullPolicy: 'IfNotPresent',
    env: [],
    ports: [],
    volumeMounts: [],
    resources: { requests: r.requests ?? {}, limits: r.limits ?? {} },
  };
}

/** A pod with the given app containers (and optional init containers and priority). */
export function pod(uid: string, containers: Res[], opts: { init?: Res[]; priority?: number; name?: string } = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: opts.name ?? `pod-${uid}`, namespace: 'default', uid, labels: {}, annotations: {} },
    spec: {
      containers: containers.map(container),
      initContainers: (opts.init ?? []).map(container),
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      hostNetwork: false,
      shareProcessNamespace: false,
      dnsPolicy: 'ClusterFirst',
      volumes: [],
      nodeSelector: {},
      tolerations: [],
      ...(opts.priority !== undefined ? { priority: opts.priority } : {}),
    },
  };
}

export const MI = 1024 * 1024;
export const GI = 1024 * MI;

/** Guaranteed: cpu 500m, memory 128Mi (requests = limits). */
export const guaranteed = (uid = 'g1') => pod(uid, [{ requests: { cpu: '500m', memory: '128Mi' }, limits: { cpu: '500m', memory: '128Mi' } }]);
/** Burstable: requests cpu 250m / 64Mi, limits cpu 1 / 256Mi. */
export const burstable = (uid = 'b1') => pod(uid, [{ requests: { cpu: '250m', memory: '64Mi' }, limits: { cpu: '1', memory: '256Mi' } }]);
/** BestEffort: nothing set. */
export const bestEffort = (uid = 'be1') => pod(uid, [{}]);
