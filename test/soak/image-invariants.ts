/**
 * The soak's image invariants: each node's image store is a small tmpfs (cluster.sh
 * CORELET_CLUSTER_IMAGEFS_SIZE) that the image churn (image-churn.ts) keeps filling, so the agent's
 * image GC (--image-gc-high-threshold/-low-threshold/--image-minimum-gc-age) must remove images.
 *   imagefs-bound         a node's image filesystem used above the bound (statfs every second)
 *   image-in-use-removed  a container running before and after a look at the node's images whose
 *                         image is not among them (every 10 s: crictl ps, crictl images, crictl ps)
 *   image-gc-exercised    no image removed by GC on any node during the run: the limits were not
 *                         exercised (the run proves nothing about them)
 * The bound: GC runs every P = 30 s (the agent's period); a round that finds usage ≥ HIGH% frees
 * unused images down to LOW%. So right after any round usage is below HIGH% of the capacity (given
 * what GC may not remove — the pinned Zeus images, ~11 MiB, and the ≤ 2 images a node's churn pods
 * use or just pulled — is below it, as the settings keep it), and until the next round it grows only
 * by what the node pulls: at most k = ⌈P / shortest churn step⌉ + 1 images (+1: a pull under way
 * when GC measured). bound = HIGH% × capacity + k × the largest image's size in the store, where an
 * image's size in the store is at most its compressed layers (blobs kept) + their unpacked bytes
 * (rootfs), both measured from the registry. The bound is kept below the agent's
 * imagefs.available<15% eviction signal, so GC, not pod eviction, keeps the store in bounds.
 */
import { readFile, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DEFAULT_IMAGE_GC_PERIOD_MS } from '../../src/agent/disk/image-gc.js';
import type { ClusterHarness } from '../helpers/cluster-harness.js';
import { LOCAL_REGISTRY } from '../helpers/conformance.js';
import { CHURN_IMAGES } from './image-churn.js';
import { mib } from './invariants.js';
import type { SoakReport } from './report.js';
import type { SoakSettings } from './settings.js';

const MANIFEST_TYPES = 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';

/** What one image can add to a node's store: its compressed layers + their unpacked size + 64 KiB (manifest, config, file system slack). */
async function storeBytes(image: string): Promise<number> {
  const [repo, tag] = image.slice(LOCAL_REGISTRY.length + 1).split(':') as [string, string];
  const res = await fetch(`http://${LOCAL_REGISTRY}/v2/${repo}/manifests/${tag}`, { headers: { accept: MANIFEST_TYPES } });
  if (!res.ok) throw new Error(`manifest of ${image}: HTTP ${res.status}`);
  const manifest = (await res.json()) as { layers?: { digest: string; size: number }[] };
  let total = 64 * 1024;
  for (const l of manifest.layers ?? []) {
    const blob = Buffer.from(await (await fetch(`http://${LOCAL_REGISTRY}/v2/${repo}/blobs/${l.digest}`)).arrayBuffer());
    total += blob.length + (blob[0] === 0x1f && blob[1] === 0x8b ? gunzipSync(blob).length : blob.length);
  }
  return total;
}

export interface ImageBound {
  capacityBytes: number;
  boundBytes: number;
  largestBytes: number;
  pullsPerRound: number;
  text: string;
}

/** The bound described above, from the settings and the registry's images. */
export async function imageBound(s: SoakSettings): Promise<ImageBound> {
  const capacityBytes = s.imagefsMiB * 1024 * 1024;
  const largestBytes = Math.max(...(await Promise.all(CHURN_IMAGES.map(storeBytes))));
  const pullsPerRound = Math.ceil(DEFAULT_IMAGE_GC_PERIOD_MS / s.imageStepMs[0]) + 1;
  const boundBytes = Math.ceil((capacityBytes * s.imageGcHigh) / 100) + pullsPerRound * largestBytes;
  const evictAt = capacityBytes * 0.85;
  const text = `${mib(boundBytes)} (${Math.round((boundBytes * 100) / capacityBytes)}% of ${mib(capacityBytes)}) = GC high ${s.imageGcHigh}% × ${mib(capacityBytes)} + ${pullsPerRound} pulls per ${DEFAULT_IMAGE_GC_PERIOD_MS / 1000} s GC period × ${mib(largestBytes)} (largest image); GC frees down to ${s.imageGcLow}%; eviction at ${mib(evictAt)}`;
  return { capacityBytes, boundBytes, largestBytes, pullsPerRound, text };
}

interface Ctr {
  id: string;
  image?: { image?: string };
  labels: Record<string, string>;
}

export class ImageInvariants {
  private fsTimer: NodeJS.Timeout | undefined;
  private useTimer: NodeJS.Timeout | undefined;
  private useCheck: Promise<void> | undefined;
  private readonly maxUsed = new Map<string, number>();
  private samples = 0;
  private inUseChecks = 0;

  constructor(
    private readonly cluster: ClusterHarness,
    private readonly report: SoakReport,
    private readonly bound: ImageBound,
  ) {}

  start(): void {
    this.fsTimer = setInterval(() => void this.sampleFs(), 1000);
    const tick = () => {
      this.useTimer = setTimeout(() => {
        this.useCheck = this.checkInUse()
          .catch((err: unknown) => this.report.note(`image in-use check failed: ${String(err).split('\n')[0]}`))
          .finally(() => {
            if (this.useTimer) tick();
          });
      }, 10_000);
    };
    tick();
  }

  async stop(): Promise<void> {
    clearInterval(this.fsTimer);
    this.fsTimer = undefined;
    if (this.useTimer) clearTimeout(this.useTimer);
    this.useTimer = undefined;
    await this.useCheck;
    await this.sampleFs();
  }

  private imagesDir(node: string): string {
    return join(this.cluster.node(node).dir, 'runtime', 'images');
  }

  /** statfs of each node's image store: used = capacity − free, as the agent's GC computes it. */
  async sampleFs(): Promise<void> {
    this.samples++;
    for (const n of this.cluster.nodes) {
      const s = await statfs(this.imagesDir(n.name)).catch(() => undefined);
      if (!s) continue;
      const used = (s.blocks - s.bavail) * s.bsize;
      this.maxUsed.set(n.name, Math.max(this.maxUsed.get(n.name) ?? 0, used));
      if (used > this.bound.boundBytes) this.report.violation('imagefs-bound', `${n.name}: image filesystem ${mib(used)} used, above the bound ${this.bound.text}`, n.name);
    }
  }

  /** A running container's image must stay in its node's store (GC never removes an image in use). */
  private async checkInUse(): Promise<void> {
    this.inUseChecks++;
    for (const n of this.cluster.nodes) {
      const ps = async () => {
        const r = await this.cluster.crictl(n.name, ['ps', '-o', 'json', '--state', 'running'], { reject: false });
        return r.exitCode === 0 ? ((JSON.parse(String(r.stdout)) as { containers?: Ctr[] }).containers ?? []) : undefined;
      };
      const before = await ps();
      const listed = await this.cluster.crictl(n.name, ['images', '-o', 'json'], { reject: false });
      const after = await ps();
      if (!before || !after || listed.exitCode !== 0) continue;
      const ids = new Set(((JSON.parse(String(listed.stdout)) as { images?: { id: string }[] }).images ?? []).map((i) => i.id));
      const still = new Set(after.map((c) => c.id));
      for (const c of before) {
        const image = c.image?.image ?? '';
        if (!still.has(c.id) || !image.startsWith('sha256:') || ids.has(image)) continue;
        this.report.violation('image-in-use-removed', `${n.name}: image ${image.slice(0, 19)} of running container ${c.id.slice(0, 13)} (${c.labels['io.kubernetes.pod.namespace']}/${c.labels['io.kubernetes.pod.name']}) is gone from the node's images`, `${n.name} ${image}`);
      }
    }
  }

  /** The agents' own account (their logs): images GC removed, rounds above the high threshold, removals refused. */
  async gcLog(): Promise<Record<string, { rounds: number; removed: number; refused: number }>> {
    const out: Record<string, { rounds: number; removed: number; refused: number }> = {};
    for (const n of this.cluster.nodes) {
      const text = await readFile(join(n.dir, 'agent.log'), 'utf8').catch(() => '');
      const count = (msg: string) => text.split('\n').filter((l) => l.includes(`"msg":"${msg}`)).length;
      out[n.name] = { rounds: count('image filesystem usage above the high threshold'), removed: count('removed an unused image'), refused: count('cannot remove an unused image') };
    }
    return out;
  }

  /** Figures for the report, and image-gc-exercised. */
  async finish(): Promise<void> {
    const gc = await this.gcLog();
    const removed = Object.values(gc).reduce((a, g) => a + g.removed, 0);
    this.report.measure('image GC per node (agent logs): rounds above the high threshold / images removed / removals refused', Object.fromEntries(Object.entries(gc).map(([k, g]) => [k, `${g.rounds} / ${g.removed} / ${g.refused}`])));
    this.report.measure('imagefs bound', this.bound.text);
    this.report.measure('imagefs largest use per node (statfs every 1 s)', Object.fromEntries([...this.maxUsed].map(([k, v]) => [k, `${mib(v)} (${Math.round((v * 100) / this.bound.capacityBytes)}%)`])));
    this.report.measure('image checks', { fsSamples: this.samples, inUseChecks: this.inUseChecks });
    if (removed === 0) this.report.violation('image-gc-exercised', 'no node removed an image: the image limits were not exercised (more churn images, a smaller CORELET_SOAK_IMAGEFS_MIB or a lower CORELET_SOAK_IMAGE_GC)');
  }
}
