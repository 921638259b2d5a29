/**
 * Image pull benchmark: a 100 MiB, 5-layer image from the local registry (127.0.0.1:5000), pulled
 * cold through CRI PullImage (gRPC) by a private corelet runtime and by the conformance kit's
 * containerd 1.6 and 2.4, alternating, several rounds, medians.
 *
 *   node dist/bench/image-pull.js [--rounds 5] [--layers 5] [--layer-mib 20] [--seed N]
 *     [--registry 127.0.0.1:5000] [--registry-pid PID] [--skip-containerd|--skip-containerd1|--skip-containerd2]
 *     [--corelet-log-level info] [--unpack-worker auto|always|never] [--save-log FILE]
 *     [--baseline-cli OTHER/dist/src/cli/main.js]
 *
 * --baseline-cli adds a second private corelet runtime from another build (e.g. `git archive` of the
 * commit before a change, built elsewhere) to the same run, so before/after share the host's load.
 *
 * The image is built here, offline and reproducibly: each layer is a tar of 1 MiB files whose bytes
 * are an AES-256-CTR keystream keyed by (seed, layer) (incompressible), gzip'ed (level 1, as
 * registries serve layers), pushed with the distribution API to 127.0.0.1:5000/pl-bench/big:<tag>.
 * All rounds' images are built and pushed first, then pulled back to back.
 * Cold pulls: every round pushes a NEW image (each layer starts with a small file naming the seed
 * and round, so every layer digest is new) that no runtime has seen, and after each pull the
 * runtime's RemoveImage; for containerd the bench checks with `ctr content ls` that none of the
 * round's layers is still in its content store before the pull (it says so if one is).
 *
 * Per pull: wall time of PullImage; the daemon's CPU (utime+stime, plus reaped children); its disk
 * writes (/proc/PID/io write_bytes); and the unpack share: from the registry's last byte sent (the
 * registry process's wchar, sampled every 5 ms) to PullImage's answer. Host load before and after,
 * CPU model. It never exits non-zero on a slow figure: it measures.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { createCriClient, type CriClient } from '../src/cri/index.js';
import { COMPARE_OPTIONS, CoreletDaemon, referenceRuntimes } from './corelet-daemon.js';
import { cpuMs } from './procs.js';
import { median, table } from './stats.js';

const exec = promisify(execFile);

const { values: args } = parseArgs({
  options: {
    ...COMPARE_OPTIONS,
    rounds: { type: 'string', default: '5' },
    layers: { type: 'string', default: '5' },
    'layer-mib': { type: 'string', default: '20' },
    seed: { type: 'string' },
    registry: { type: 'string', default: '127.0.0.1:5000' },
    'registry-pid': { type: 'string' },
    repository: { type: 'string', default: 'pl-bench/big' },
    'corelet-cli': { type: 'string', default: resolve(import.meta.dirname, '..', 'src', 'cli', 'main.js') },
    'corelet-log-level': { type: 'string', default: 'info' },
    /** A second corelet CLI (another build, e.g. the commit before a change) pulled in the same run as "corelet (baseline)". */
    'baseline-cli': { type: 'string' },
    /** The runtime's imageUnpackWorker (auto, always, never). */
    'unpack-worker': { type: 'string', default: 'auto' },
    'save-log': { type: 'string' },
  },
});
const ROUNDS = Number(args.rounds);
const LAYERS = Number(args.layers);
const LAYER_MIB = Number(args['layer-mib']);
const SEED = args.seed ?? String(Date.now());
const REGISTRY = args.registry!;
const REPO = args.repository!;
const MiB = 1024 * 1024;

// ---------------------------------------------------------------- building and pushing the image

/** One ustar header block. */
function tarHeader(name: string, size: number, type: '0' | '5', mode: number): Buffer {
  const h = Buffer.alloc(512);
  const put = (off: number, len: number, s: string) => h.write(s, off, len, 'ascii');
  const oct = (off: number, len: number, n: number) => put(off, len, `${n.toString(8).padStart(len - 1, '0')}\0`);
  put(0, 100, name);
  oct(100, 8, mode);
  oct(108, 8, 0);
  oct(116, 8, 0);
  oct(124, 12, size);
  oct(136, 12, 1_700_000_000);
  put(148, 8, '        ');
  put(156, 1, type);
  put(257, 6, 'ustar\0');
  put(263, 2, '00');
  put(265, 32, 'root');
  put(297, 32, 'root');
  let sum = 0;
  for (const b of h) sum += b;
  put(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return h;
}

/** An uncompressed layer tar: pl-bench/layer<i>/round (seed + round), then 1 MiB seeded files. */
function layerTar(layer: number, round: string): Buffer {
  const parts: Buffer[] = [];
  const dir = `pl-bench/layer${layer}/`;
  parts.push(tarHeader('pl-bench/', 0, '5', 0o755), tarHeader(dir, 0, '5', 0o755));
  const stamp = Buffer.from(`seed ${SEED} round ${round} layer ${layer}\n`);
  parts.push(tarHeader(`${dir}round`, stamp.length, '0', 0o644), stamp, Buffer.alloc((512 - (stamp.length % 512)) % 512));
  const key = createHash('sha256').update(`${SEED}/${layer}`).digest();
  const stream = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  for (let f = 0; f < LAYER_MIB; f++) {
    parts.push(tarHeader(`${dir}f${String(f).padStart(3, '0')}`, MiB, '0', 0o644), stream.update(Buffer.alloc(MiB)));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface BuiltImage {
  ref: string;
  layers: { digest: string; size: number }[];
  bytes: number;
}

async function pushBlob(blob: Buffer, digest: string): Promise<void> {
  const base = `http://${REGISTRY}/v2/${REPO}`;
  if ((await fetch(`${base}/blobs/${digest}`, { method: 'HEAD' })).status === 200) return;
  const start = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
  if (start.status !== 202) throw new Error(`starting an upload to ${base}: HTTP ${start.status}`);
  const loc = new URL(start.headers.get('location')!, `http://${REGISTRY}`);
  loc.searchParams.set('digest', digest);
  const put = await fetch(loc, { method: 'PUT', body: new Uint8Array(blob), headers: { 'content-type': 'application/octet-stream' } });
  if (put.status !== 201) throw new Error(`uploading ${digest}: HTTP ${put.status} ${await put.text()}`);
}

/** Builds the round's image and pushes it; every layer digest is new to this round. */
async function buildAndPush(round: string): Promise<BuiltImage> {
  const layers: { digest: string; size: number; diffId: string }[] = [];
  for (let i = 0; i < LAYERS; i++) {
    const tar = layerTar(i, round);
    const gz = gzipSync(tar, { level: 1 });
    const l = { digest: sha256(gz), size: gz.length, diffId: sha256(tar) };
    await pushBlob(gz, l.digest);
    layers.push(l);
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['/bin/sh'], Env: ['PATH=/bin'] },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    }),
  );
  const configDigest = sha256(config);
  await pushBlob(config, configDigest);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest, size: l.size })),
  });
  const tag = `s${SEED}-r${round}`;
  const res = await fetch(`http://${REGISTRY}/v2/${REPO}/manifests/${tag}`, {
    method: 'PUT',
    body: manifest,
    headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
  });
  if (res.status !== 201) throw new Error(`pushing manifest ${tag}: HTTP ${res.status} ${await res.text()}`);
  return { ref: `${REGISTRY}/${REPO}:${tag}`, layers, bytes: layers.reduce((n, l) => n + l.size, 0) };
}

// ---------------------------------------------------------------- measuring

async function procIo(pid: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const line of (await readFile(`/proc/${pid}/io`, 'utf8')).split('\n')) {
    const [k, v] = line.split(':');
    if (k && v) out[k.trim()] = Number(v.trim());
  }
  return out;
}

/** The pid listening on a TCP host:port (ss -ltnp). */
async function tcpListenerPid(hostPort: string): Promise<number> {
  const { stdout } = await exec('ss', ['-ltnpH']);
  for (const line of stdout.split('\n')) {
    if (line.split(/\s+/)[3] !== hostPort) continue;
    const m = /pid=(\d+)/.exec(line);
    if (m) return Number(m[1]);
  }
  throw new Error(`no process listens on ${hostPort}; pass --registry-pid`);
}

interface Target {
  label: string;
  endpoint: string;
  pid: number;
  client: CriClient;
  /** containerd: its content store is checked for the round's layers before each pull. */
  ctr: boolean;
}

interface Sample {
  ms: number;
  cpuMs: number;
  writeMiB: number;
  unpackMs: number;
  servedMiB: number;
}

/** containerd's content store digests (namespace k8s.io). */
async function contentDigests(endpoint: string): Promise<Set<string>> {
  const { stdout } = await exec('ctr', ['-a', endpoint.replace(/^unix:\/\//, ''), '-n', 'k8s.io', 'content', 'ls', '-q'], { maxBuffer: 64 * MiB });
  return new Set(stdout.split('\n').filter(Boolean));
}

async function pullOnce(t: Target, img: BuiltImage, registryPid: number, warnings: string[]): Promise<Sample> {
  if (t.ctr) {
    const have = await contentDigests(t.endpoint);
    const warm = img.layers.filter((l) => have.has(l.digest));
    if (warm.length > 0) warnings.push(`${t.label}: ${warm.length} layer(s) of ${img.ref} already in its content store (not a cold pull)`);
  }
  const cpu0 = await cpuMs(t.pid);
  const io0 = await procIo(t.pid);
  const reg0 = (await procIo(registryPid)).wchar!;
  let lastServed = reg0;
  let lastServedAt = performance.now();
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const w = (await procIo(registryPid)).wchar!;
      if (w !== lastServed) {
        lastServed = w;
        lastServedAt = performance.now();
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const t0 = performance.now();
  await t.client.image.PullImage({ image: { image: img.ref } }, { deadlineMs: 10 * 60_000 });
  const t1 = performance.now();
  sampling = false;
  await sampler;
  const cpu1 = await cpuMs(t.pid);
  const io1 = await procIo(t.pid);
  await t.client.image.RemoveImage({ image: { image: img.ref } });
  return {
    ms: t1 - t0,
    cpuMs: cpu1.self + cpu1.children - cpu0.self - cpu0.children,
    writeMiB: (io1.write_bytes! - io0.write_bytes!) / MiB,
    unpackMs: Math.max(0, t1 - Math.max(t0, lastServedAt)),
    servedMiB: (lastServed - reg0) / MiB,
  };
}

async function cpuModel(): Promise<string> {
  const info = await readFile('/proc/cpuinfo', 'utf8');
  return /model name\s*:\s*(.*)/.exec(info)?.[1] ?? 'unknown';
}

async function main(): Promise<void> {
  const load0 = loadavg();
  console.log(`image pull: ${LAYERS} layers × ${LAYER_MIB} MiB (seed ${SEED}), ${ROUNDS} rounds, cold pulls through CRI PullImage (gRPC)`);
  console.log(`corelet imageUnpackWorker: ${args['unpack-worker']}`);
  console.log(`CPU: ${await cpuModel()} × ${availableParallelism()}; load average at start ${load0.map((l) => l.toFixed(2)).join(' ')}`);
  const registryPid = args['registry-pid'] ? Number(args['registry-pid']) : await tcpListenerPid(REGISTRY);
  const refs = await referenceRuntimes(args);
  const corelet = await CoreletDaemon.start({
    cli: args['corelet-cli']!,
    logLevel: args['corelet-log-level']!,
    bridge: `plbr${process.pid % 10000}`,
    subnet: `10.85.${process.pid % 250}.0/24`,
    extraConfig: [`imageUnpackWorker: ${args['unpack-worker']}`],
  });
  const baseline = args['baseline-cli']
    ? await CoreletDaemon.start({
        cli: args['baseline-cli'],
        logLevel: args['corelet-log-level']!,
        bridge: `plbb${process.pid % 10000}`,
        subnet: `10.85.${(process.pid + 1) % 250}.0/24`,
      })
    : undefined;
  const targets: Target[] = [
    { label: 'corelet', endpoint: `unix://${corelet.socket}`, pid: corelet.pid, client: createCriClient(`unix://${corelet.socket}`), ctr: false },
    ...(baseline
      ? [{ label: 'corelet (baseline)', endpoint: `unix://${baseline.socket}`, pid: baseline.pid, client: createCriClient(`unix://${baseline.socket}`), ctr: false }]
      : []),
    ...refs.map((r) => ({ label: r.label, endpoint: r.endpoint, pid: r.pid, client: createCriClient(r.endpoint), ctr: true })),
  ];
  const results = new Map<string, Sample[]>(targets.map((t) => [t.label, []]));
  const warnings: string[] = [];
  let imageBytes = 0;
  try {
    for (const t of targets) {
      const v = await t.client.runtime.Version({});
      console.log(`${t.label}: ${v.runtime_name} ${v.runtime_version} (pid ${t.pid})`);
    }
    // Every round's image first, so the pulls run back to back (building one takes seconds of CPU).
    const images: BuiltImage[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const built0 = performance.now();
      const img = await buildAndPush(String(round));
      imageBytes = img.bytes;
      images.push(img);
      console.log(`built and pushed ${img.ref} (${(img.bytes / MiB).toFixed(1)} MiB) in ${((performance.now() - built0) / 1000).toFixed(1)} s`);
    }
    const loadPulls = loadavg();
    console.log(`load average before the pulls ${loadPulls.map((l) => l.toFixed(2)).join(' ')}`);
    for (let round = 0; round < ROUNDS; round++) {
      const img = images[round]!;
      console.log(`round ${round + 1}: ${img.ref}`);
      // rotate the order so no runtime always goes first
      const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
      for (const t of order) {
        const s = await pullOnce(t, img, registryPid, warnings);
        results.get(t.label)!.push(s);
        console.log(
          `  ${t.label}: ${s.ms.toFixed(0)} ms, cpu ${s.cpuMs.toFixed(0)} ms, unpack share ${s.unpackMs.toFixed(0)} ms, ` +
            `disk writes ${s.writeMiB.toFixed(1)} MiB, registry served ${s.servedMiB.toFixed(1)} MiB`,
        );
      }
    }
    const load1 = loadavg();
    const med = (label: string, f: (s: Sample) => number) => median(results.get(label)!.map(f));
    const fmt = (v: number) => v.toFixed(0);
    const others = [...(baseline ? ['corelet (baseline)'] : []), ...refs.map((r) => r.label)];
    const rows: string[][] = [['median', ...targets.map((t) => t.label), ...others.map((o) => `corelet / ${o}`)]];
    const metrics: [string, (s: Sample) => number, (v: number) => string][] = [
      ['pull ms', (s) => s.ms, fmt],
      ['daemon CPU ms (utime+stime, children)', (s) => s.cpuMs, fmt],
      ['unpack share ms (last byte served → ready)', (s) => s.unpackMs, fmt],
      ['disk writes MiB', (s) => s.writeMiB, (v) => v.toFixed(1)],
      ['registry served MiB', (s) => s.servedMiB, (v) => v.toFixed(1)],
      ['MB/s (image bytes / pull time)', (s) => imageBytes / 1e6 / (s.ms / 1000), (v) => v.toFixed(1)],
    ];
    for (const [name, f, show] of metrics) {
      const c = med('corelet', f);
      rows.push([name, ...targets.map((t) => show(med(t.label, f))), ...others.map((o) => `${(c / med(o, f)).toFixed(2)}×`)]);
    }
    console.log();
    console.log(table(rows));
    console.log(`image ${(imageBytes / MiB).toFixed(1)} MiB compressed in ${LAYERS} layers; ${ROUNDS} rounds; order rotated per round`);
    console.log(`cold pulls: a new image per round (all layer digests new) + RemoveImage after each pull${warnings.length ? '' : '; ctr content ls found none of a round\'s layers before any containerd pull'}`);
    for (const w of warnings) console.log(`WARNING: ${w}`);
    console.log(`load average at start ${load0.map((l) => l.toFixed(2)).join(' ')}, before the pulls ${loadPulls.map((l) => l.toFixed(2)).join(' ')}, at end ${load1.map((l) => l.toFixed(2)).join(' ')}, on ${availableParallelism()} CPUs`);
  } finally {
    for (const t of targets) t.client.close();
    if (args['save-log']) await corelet.saveLog(args['save-log']).catch(() => undefined);
    await corelet.stop();
    await baseline?.stop();
  }
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exitCode = 1;
});
