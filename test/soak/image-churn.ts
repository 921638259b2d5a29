/**
 * The image part of the churn workload: on every node, one pod at a time (spec.nodeName, so each
 * node pulls) running one of several distinct images from the local registry; every few seconds
 * (seeded) the pod, once Running, is deleted and replaced by one with the node's next image, round
 * robin. The images pile up in the node's small image store until image GC must remove unused ones,
 * least recently used first — with round robin that is the image the node needs again soonest, so
 * GC'd images are pulled again and their pods must still start.
 *   image-pod-start   an image-churn pod not Running 2 minutes after it was created (or after the
 *                     last fault ended), e.g. stuck on a pull of an image GC removed
 */
import type { ApiPod, ClusterHarness } from '../helpers/cluster-harness.js';
import { LOCAL_REGISTRY } from '../helpers/conformance.js';
import type { SoakReport } from './report.js';
import type { Prng, SoakSettings } from './settings.js';
import { SOAK_NS } from './workload.js';
import { Stepper } from './stepper.js';
import { mainContainerSpec } from './pod-spec.js';

/** Distinct images (own config digests; all share the busybox layer) of shared/conformance. */
export const CHURN_IMAGES = [
  'e2e-test-images/busybox:1.29-2',
  'e2e-test-images/nginx:1.14-2',
  'e2e-test-images/httpd:2.4.39-4',
  'e2e-test-images/nonewprivs:1.3',
  'k8s-staging-cri-tools/test-image-1:latest',
  'k8s-staging-cri-tools/test-image-2:latest',
].map((x) => `${LOCAL_REGISTRY}/${x}`);

/** Pods named so: the test deletes them itself. */
export const IMAGE_POD_PREFIX = 'img-';

interface NodeState {
  seq: number;
  used: Set<string>;
  current?: { name: string; image: string; createdAt: number; repull: boolean; waitingNoted?: boolean };
}

function podManifest(name: string, node: string, image: string): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${SOAK_NS}, labels: {app: img-churn}}
spec:
  nodeName: ${node}
  restartPolicy: Always
${mainContainerSpec({ image, command: "trap 'exit 0' TERM; while :; do sleep 1; done", terminationGracePeriodSeconds: 1, requests: { cpu: '5m', memory: '4Mi' }, limits: { cpu: '100m', memory: '16Mi' } }, 2)}
`;
}

const isRunning = (p: ApiPod) => p.status?.phase === 'Running' && !!p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

export class ImageChurn extends Stepper {
  private readonly nodes = new Map<string, NodeState>();
  started = 0;
  failures = 0;
  /** Pods whose image GC had removed from their node: pulled again and Running. */
  readonly repulls: { node: string; image: string; seconds: number }[] = [];

  constructor(
    private readonly cluster: ClusterHarness,
    private readonly report: SoakReport,
    private readonly rng: Prng,
    private readonly settings: SoakSettings,
    /** When the cluster became quiet (ms; undefined while a fault is under way). */
    private readonly quietSince: () => number | undefined,
  ) {
    super();
    // each node starts at another image, so the nodes do not pull in lock step
    cluster.nodes.forEach((n, i) => this.nodes.set(n.name, { seq: i * 2, used: new Set() }));
  }

  start(): void {
    const next = (ms: number) => {
      this.timer = setTimeout(() => {
        this.busy = this.step().finally(() => {
          if (this.timer) next(this.rng.int(this.settings.imageStepMs[0], this.settings.imageStepMs[1]));
        });
      }, ms);
    };
    next(0);
  }

  /**
   * After stop(): waits (up to the recovery window) until every node's last pod is Running, so
   * its start and a re-pull it needed are counted, and a stuck one is reported.
   */
  async settle(): Promise<void> {
    const deadline = Date.now() + this.settings.recoveryMs;
    for (;;) {
      const waiting: string[] = [];
      for (const [node, st] of this.nodes) if (st.current && !(await this.check(node, st, true))) waiting.push(st.current.name);
      if (waiting.length === 0) return;
      if (Date.now() > deadline) {
        for (const name of waiting) this.report.violation('image-pod-start', `${SOAK_NS}/${name} not Running ${Math.round(this.settings.recoveryMs / 1000)} s after the churn stopped`, name);
        return;
      }
      await new Promise((r) => setTimeout(r, 3000));
    }
  }

  private async step(): Promise<void> {
    if (this.paused > 0) return;
    await Promise.all([...this.nodes].map(([node, st]) => this.nodeStep(node, st)));
  }

  /** True when the node's current pod is Running (counted once) or gone; reports one stuck too long. */
  private async check(node: string, st: NodeState, final = false): Promise<boolean> {
    const cur = st.current!;
    const r = await this.cluster.api<ApiPod>(`/api/v1/namespaces/${SOAK_NS}/pods/${cur.name}`, { timeoutMs: 10_000 });
    if (r.status === 404 || (r.status === 200 && r.json.metadata.deletionTimestamp)) {
      this.report.note(`image churn: ${cur.name} on ${node} was deleted before it ran (${r.status === 404 ? 'gone' : 'Terminating'})`);
      st.current = undefined;
      return true;
    }
    if (r.status !== 200) throw new Error(`GET pod ${cur.name}: ${r.status}`);
    if (isRunning(r.json)) {
      this.started++;
      if (cur.repull) {
        const seconds = Math.round((Date.now() - cur.createdAt) / 100) / 10;
        this.repulls.push({ node, image: cur.image, seconds });
        this.report.note(`image churn: ${cur.name} on ${node} Running ${seconds} s after it was created; its image ${cur.image.split('/').slice(1).join('/')} had been removed from the node and was pulled again`);
      }
      return true;
    }
    const quiet = this.quietSince();
    const waited = quiet === undefined ? 0 : Date.now() - Math.max(cur.createdAt, quiet);
    if (!final && waited > this.settings.recoveryMs) {
      const why = (r.json.status as { containerStatuses?: { state?: { waiting?: { reason?: string; message?: string } } }[] } | undefined)?.containerStatuses?.[0]?.state?.waiting;
      this.report.violation('image-pod-start', `${SOAK_NS}/${cur.name} (${cur.image}) on ${node} not Running ${Math.round((Date.now() - cur.createdAt) / 1000)} s after it was created${why ? `: ${why.reason ?? ''} ${why.message ?? ''}` : ''}`, cur.name);
    }
    return false;
  }

  private async nodeStep(node: string, st: NodeState): Promise<void> {
    try {
      if (st.current) {
        if (!(await this.check(node, st))) return; // not Running yet: it gets the next step
        if (st.current) {
          const del = await this.cluster.api(`/api/v1/namespaces/${SOAK_NS}/pods/${st.current.name}`, { method: 'DELETE', timeoutMs: 10_000 });
          if (del.status !== 200 && del.status !== 202 && del.status !== 404) throw new Error(`DELETE pod ${st.current.name}: ${del.status}`);
          st.current = undefined;
        }
      }
      const image = CHURN_IMAGES[st.seq % CHURN_IMAGES.length]!;
      const name = `${IMAGE_POD_PREFIX}${node}-${st.seq++}`;
      // the node pulled this image before and has it no more: only image GC (or the disk eviction's
      // reclaim) removes images here
      const listed = await this.cluster.crictl(node, ['images', '-o', 'json'], { reject: false });
      const tags = listed.exitCode === 0 ? ((JSON.parse(String(listed.stdout)) as { images?: { repoTags?: string[] }[] }).images ?? []).flatMap((i) => i.repoTags ?? []) : [image];
      const repull = st.used.has(image) && !tags.includes(image);
      st.used.add(image);
      await this.cluster.apply(podManifest(name, node, image));
      st.current = { name, image, createdAt: Date.now(), repull };
    } catch (err) {
      this.failures++;
      this.report.note(`image churn: ${node} step failed (${String(err).split('\n')[0]})`);
    }
  }
}
