/**
 * The soak's settings, from the environment (every one optional; a bad value fails naming its
 * variable). The short form (no CORELET_SOAK_MINUTES) injects each kind of fault once with short
 * outages and fits CI's 8 minutes; the long form (CORELET_SOAK_MINUTES=120) keeps injecting random
 * faults for that many minutes with the issue's outages (scheduler down 5 minutes, a node lost 2).
 *
 *   CORELET_SOAK_MINUTES        long form: minutes of faults, the first round included (default: short form)
 *   CORELET_SOAK_SEED           the PRNG seed (printed; set it to replay a run's faults, victims and gaps)
 *   CORELET_SOAK_NAME           cluster.sh --name (default soak: never the e2e tests' cle2e)
 *   CORELET_SOAK_NET            the cluster's /24, three octets (default 10.95.0: not the e2e's 10.99.0)
 *   CORELET_SOAK_PORT           the scheduler's port (default 16445: not the e2e's 6443)
 *   CORELET_SOAK_TMP            parent folder of the cluster's temp folder (default the OS temp folder)
 *   CORELET_SOAK_REPORT         report file (default TMP/corelet-soak-SEED.txt, and .json beside it)
 *   CORELET_SOAK_SCHEDULER_DOWN_SECONDS, CORELET_SOAK_NODE_LOST_SECONDS   the two outages (short
 *                               65 and 60 s, long 300 and 120 s). 65 s, not 60: the agents retry at 1,
 *                               3, 7, 15, 31, 61, 91 s, so after 65 s down the next try comes ~25 s
 *                               after the restart, past a 10 s eviction timeout, never by luck before
 *   CORELET_SOAK_NODE_CERT_TTL  --node-cert-ttl (short 5m, long 60m: agents renew at 70-90% of it)
 *   CORELET_SOAK_TOKEN_TTL      TTL of the bootstrap token the nodes rejoin with (short 45s, long 10m)
 *   CORELET_SOAK_SERVING_CERT_TTL  --serving-cert-ttl, passed when the scheduler has the flag
 *   CORELET_SOAK_LOG_MAX_SIZE, CORELET_SOAK_LOG_MAX_FILES  --container-log-max-size/-files, passed
 *                               when the agent has the flags (default 1Mi × 3)
 *   CORELET_SOAK_LOG_KIB_PER_SECOND  how fast the logging pod writes (default 512)
 *   CORELET_SOAK_IMAGEFS_MIB    size of each node's image store, a tmpfs (cluster.sh
 *                               CORELET_CLUSTER_IMAGEFS_SIZE) small enough for the image GC thresholds
 *                               to bite (default 64: the pinned Zeus images take ~11 MiB, each test
 *                               image ~3 MiB more)
 *   CORELET_SOAK_IMAGE_GC       --image-gc-high-threshold/--image-gc-low-threshold, HIGH/LOW percent
 *                               (default 40/30: below the agent's imagefs.available<15% eviction, so
 *                               GC, not eviction, keeps the store in bounds)
 *   CORELET_SOAK_IMAGE_MIN_AGE  --image-minimum-gc-age (default 10s: an image is first seen at a GC
 *                               round, so one pulled for a pod about to start is kept for that round)
 *   CORELET_SOAK_IMAGE_STEP_SECONDS  how often each node's image-churn pod is replaced by one with the
 *                               next test image, MIN-MAX (short 10-20, long 20-60)
 *   CORELET_SOAK_GAP_SECONDS    pause between faults once the cluster recovered, MIN-MAX (short 1-4,
 *                               long 30-180)
 *   CORELET_SOAK_SCHEDULER_ARGS, CORELET_SOAK_AGENT_ARGS   more daemon flags (space-separated), e.g.
 *                               "--pod-eviction-timeout 60"
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SoakSettings {
  readonly form: 'short' | 'long';
  /** Long form: minutes of faults (a round of every kind, then random kinds). */
  readonly minutes: number;
  readonly seed: number;
  readonly name: string;
  readonly net: string;
  readonly port: number;
  readonly tmpParent: string;
  readonly reportPath: string;
  readonly schedulerDownSeconds: number;
  readonly nodeLostSeconds: number;
  readonly nodeCertTtl: string;
  readonly tokenTtl: string;
  readonly servingCertTtl: string;
  readonly logMaxSize: string;
  readonly logMaxFiles: number;
  readonly logKiBPerSecond: number;
  readonly schedulerArgs: string;
  readonly agentArgs: string;
  readonly imagefsMiB: number;
  readonly imageGcHigh: number;
  readonly imageGcLow: number;
  readonly imageMinAge: string;
  /** Image churn: [min, max] ms between two pods of one node. */
  readonly imageStepMs: readonly [number, number];
  /** Pause between faults, after the cluster recovered: [min, max] ms. */
  readonly gapMs: readonly [number, number];
  /** How often the invariants are sampled. */
  readonly pollMs: number;
  /** How long after a fault (or a scale) a Deployment and a node may take to recover. */
  readonly recoveryMs: number;
}

function int(env: NodeJS.ProcessEnv, key: string, fallback: number, min: number, max: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw new Error(`${key} must be a whole number from ${min} to ${max}, got "${raw}"`);
  return Number(raw);
}

function str(env: NodeJS.ProcessEnv, key: string, fallback: string, pattern: RegExp, what: string): string {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  if (!pattern.test(raw)) throw new Error(`${key} must be ${what}, got "${raw}"`);
  return raw;
}

const DURATION = /^\d+(s|m|h)$/;

function gap(env: NodeJS.ProcessEnv, fallback: [number, number], key = 'CORELET_SOAK_GAP_SECONDS'): [number, number] {
  const raw = env[key];
  if (raw === undefined || raw === '') return [fallback[0] * 1000, fallback[1] * 1000];
  const m = /^(\d+)-(\d+)$/.exec(raw);
  if (!m || Number(m[1]) > Number(m[2])) throw new Error(`${key} must be MIN-MAX seconds, e.g. 30-180, got "${raw}"`);
  return [Number(m[1]) * 1000, Number(m[2]) * 1000];
}

function imageGc(env: NodeJS.ProcessEnv): [number, number] {
  const raw = env.CORELET_SOAK_IMAGE_GC;
  if (raw === undefined || raw === '') return [40, 30];
  const m = /^(\d{1,2})\/(\d{1,2})$/.exec(raw);
  if (!m || Number(m[1]) < Number(m[2]) || Number(m[1]) >= 85) throw new Error(`CORELET_SOAK_IMAGE_GC must be HIGH/LOW percent with LOW ≤ HIGH < 85 (the imagefs eviction threshold), e.g. 40/30, got "${raw}"`);
  return [Number(m[1]), Number(m[2])];
}

export function soakSettings(env: NodeJS.ProcessEnv = process.env): SoakSettings {
  const long = env.CORELET_SOAK_MINUTES !== undefined && env.CORELET_SOAK_MINUTES !== '';
  const minutes = long ? int(env, 'CORELET_SOAK_MINUTES', 120, 1, 60 * 24 * 30) : 0;
  const seed = int(env, 'CORELET_SOAK_SEED', Math.floor(Math.random() * 2 ** 31), 0, 2 ** 32 - 1);
  const tmpParent = str(env, 'CORELET_SOAK_TMP', tmpdir(), /^\/[A-Za-z0-9/._-]*$/, 'an absolute path without spaces');
  return {
    form: long ? 'long' : 'short',
    minutes,
    seed,
    name: str(env, 'CORELET_SOAK_NAME', 'soak', /^[a-z0-9]{1,8}$/, '1 to 8 lower-case letters or digits'),
    net: str(env, 'CORELET_SOAK_NET', '10.95.0', /^\d{1,3}\.\d{1,3}\.\d{1,3}$/, 'three octets, e.g. 10.95.0'),
    port: int(env, 'CORELET_SOAK_PORT', 16445, 1, 65535),
    tmpParent,
    reportPath: str(env, 'CORELET_SOAK_REPORT', join(tmpParent, `corelet-soak-${seed}.txt`), /^\/\S+$/, 'an absolute path'),
    schedulerDownSeconds: int(env, 'CORELET_SOAK_SCHEDULER_DOWN_SECONDS', long ? 300 : 65, 1, 3600),
    nodeLostSeconds: int(env, 'CORELET_SOAK_NODE_LOST_SECONDS', long ? 120 : 60, 1, 3600),
    nodeCertTtl: str(env, 'CORELET_SOAK_NODE_CERT_TTL', long ? '60m' : '5m', DURATION, 'a duration such as 5m'),
    tokenTtl: str(env, 'CORELET_SOAK_TOKEN_TTL', long ? '10m' : '45s', DURATION, 'a duration such as 2m'),
    servingCertTtl: str(env, 'CORELET_SOAK_SERVING_CERT_TTL', long ? '60m' : '5m', DURATION, 'a duration such as 5m'),
    logMaxSize: str(env, 'CORELET_SOAK_LOG_MAX_SIZE', '1Mi', /^\d+(Ki|Mi|Gi)?$/, 'a size such as 1Mi'),
    logMaxFiles: int(env, 'CORELET_SOAK_LOG_MAX_FILES', 3, 2, 100),
    logKiBPerSecond: int(env, 'CORELET_SOAK_LOG_KIB_PER_SECOND', 512, 1, 65536),
    schedulerArgs: env.CORELET_SOAK_SCHEDULER_ARGS ?? '',
    agentArgs: env.CORELET_SOAK_AGENT_ARGS ?? '',
    imagefsMiB: int(env, 'CORELET_SOAK_IMAGEFS_MIB', 64, 16, 4096),
    imageGcHigh: imageGc(env)[0],
    imageGcLow: imageGc(env)[1],
    imageMinAge: str(env, 'CORELET_SOAK_IMAGE_MIN_AGE', '10s', DURATION, 'a duration such as 10s'),
    imageStepMs: gap(env, long ? [20, 60] : [10, 20], 'CORELET_SOAK_IMAGE_STEP_SECONDS'),
    gapMs: gap(env, long ? [30, 180] : [1, 4]),
    pollMs: 5_000,
    recoveryMs: 120_000,
  };
}

/** Seconds in a duration such as 90s, 5m, 2h. */
export function durationSeconds(d: string): number {
  const m = /^(\d+)(s|m|h)$/.exec(d);
  if (!m) throw new Error(`not a duration: ${d}`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'];
}

/** Bytes in a size such as 1Mi, 512Ki, 1000. */
export function sizeBytes(s: string): number {
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(s);
  if (!m) throw new Error(`not a size: ${s}`);
  return Number(m[1]) * (m[2] ? { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 }[m[2] as 'Ki' | 'Mi' | 'Gi'] : 1);
}

/** A small seeded PRNG (mulberry32): the same seed gives the same faults, victims and gaps. */
export class Prng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}
