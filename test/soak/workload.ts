/**
 * What the soak runs: the Zeus stack (examples/zeus.yaml: Services and DNS names, nothing of the
 * cluster's addresses in it) and, in namespace `soak`, a churn workload: a Deployment scaled up and down, Jobs, a
 * StatefulSet with a volumeClaimTemplate, a pod crash-looping and a Deployment logging fast. Churn
 * runs on its own timer (seeded) and can be paused while a fault must see a still cluster.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXAMPLES, type ClusterHarness } from '../helpers/cluster-harness.js';
import type { SoakReport } from './report.js';
import type { Prng, SoakSettings } from './settings.js';
import { Stepper } from './stepper.js';
import { mainContainerSpec } from './pod-spec.js';

export const SOAK_NS = 'soak';
const IMAGE = 'corelet.local/zeus/api:1.0';

/** A workload whose readiness is an invariant: Deployments and StatefulSets, as namespace/name. */
export const CHURN_DEPLOYMENT = `${SOAK_NS}/churn`;
/** Pods the test itself deletes (scale-downs, finished Jobs, image churn): never counted as lost. */
export const TEST_DELETED_PREFIXES = ['churn-', 'batch-', 'img-'];

/** examples/zeus.yaml, as it is. */
export async function zeusManifest(): Promise<string> {
  return readFile(join(EXAMPLES, 'zeus.yaml'), 'utf8');
}

/** The churn workload's fixed part. */
export function soakManifest(settings: SoakSettings): string {
  const pod = (command: string) =>
    mainContainerSpec({ image: IMAGE, command, terminationGracePeriodSeconds: 2, requests: { cpu: '10m', memory: '8Mi' }, limits: { cpu: '200m', memory: '32Mi' } }, 6);
  return `apiVersion: v1
kind: Namespace
metadata: {name: ${SOAK_NS}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: churn, namespace: ${SOAK_NS}}
spec:
  replicas: 2
  selector: {matchLabels: {app: churn}}
  template:
    metadata: {labels: {app: churn}}
    spec:
${pod("trap 'exit 0' TERM; while :; do sleep 1; done")}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: logger, namespace: ${SOAK_NS}}
spec:
  replicas: 1
  selector: {matchLabels: {app: logger}}
  template:
    metadata: {labels: {app: logger}}
    spec:
${pod(`line=$(head -c 1023 /dev/zero | tr '\\0' x); while :; do yes "$line" | head -n ${settings.logKiBPerSecond}; sleep 1; done`)}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: ordinal, namespace: ${SOAK_NS}}
spec:
  serviceName: ordinal
  replicas: 2
  selector: {matchLabels: {app: ordinal}}
  template:
    metadata: {labels: {app: ordinal}}
    spec:
${pod("[ -f /data/id ] || echo \"$(hostname)\" > /data/id; trap 'exit 0' TERM; while :; do sleep 1; done")}
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 10Mi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: crashloop, namespace: ${SOAK_NS}, labels: {app: crashloop}}
spec:
  restartPolicy: Always
${pod('echo crashing; sleep 1; exit 3').replace(/^ {4}/gm, '')}
`;
}

function jobManifest(n: number): string {
  return `apiVersion: batch/v1
kind: Job
metadata: {name: batch-${n}, namespace: ${SOAK_NS}}
spec:
  completions: 2
  parallelism: 2
  backoffLimit: 3
  ttlSecondsAfterFinished: 30
  template:
    spec:
      restartPolicy: Never
${mainContainerSpec({ image: IMAGE, command: `echo batch ${n}; sleep 3`, terminationGracePeriodSeconds: 1, requests: { cpu: '10m', memory: '8Mi' }, limits: { cpu: '100m', memory: '32Mi' } }, 6)}
`;
}

/**
 * The moving part of the workload: every few seconds (seeded) it scales the churn Deployment to 1..4
 * replicas or starts a Job (which deletes itself 30 s after it finished). `onScale` tells the
 * invariant checker that the Deployment has a fresh 2 minutes to reach its new size.
 */
export class Churn extends Stepper {
  private jobs = 0;
  readonly created: { job: string; at: number }[] = [];
  scales = 0;
  failures = 0;

  constructor(
    private readonly cluster: ClusterHarness,
    private readonly report: SoakReport,
    private readonly rng: Prng,
    private readonly intervalMs: readonly [number, number],
    private readonly onScale: (key: string) => void,
  ) {
    super();
  }

  start(): void {
    const next = () => {
      this.timer = setTimeout(() => {
        this.busy = this.step().finally(next);
      }, this.rng.int(this.intervalMs[0], this.intervalMs[1]));
    };
    next();
  }

  private async step(): Promise<void> {
    if (this.paused > 0) return;
    try {
      if (this.rng.next() < 0.5) {
        const replicas = this.rng.int(1, 4);
        this.onScale(CHURN_DEPLOYMENT);
        await this.cluster.corelet(['scale', 'deployment', 'churn', '-n', SOAK_NS, '--replicas', String(replicas)]);
        this.onScale(CHURN_DEPLOYMENT);
        this.scales++;
        this.report.note(`churn: deployment churn scaled to ${replicas}`);
      } else {
        const n = ++this.jobs;
        await this.cluster.apply(jobManifest(n));
        this.created.push({ job: `batch-${n}`, at: Date.now() });
        this.report.note(`churn: job batch-${n} created`);
      }
    } catch (err) {
      this.failures++;
      this.report.note(`churn: step failed (${String(err).split('\n')[0]})`);
    }
  }
}
