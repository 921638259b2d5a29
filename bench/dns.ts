/**
 * The node's cluster DNS server under dnsperf (issue 12's Benchmark), root only, in a network
 * namespace of its own (sb-dns, both servers on its 127.0.0.1):
 *
 *   ours:    startDnsServer (src/agent/dns) with a MemoryServiceView of --services Services × 10
 *            ready endpoints, in a child node process (`--serve`), port 53;
 *   dnsmasq: the same names and addresses from a hosts file (--addn-hosts, --local-ttl 5, no
 *            upstream), port 5353 — the reference, in the same run.
 *
 * dnsperf (Debian package) asks `svc-N.bench.svc.cluster.local A` for every Service in turn:
 *   throughput: as fast as answers come (-q 100 outstanding, -c 4 sockets), --seconds per round;
 *   latency: at a fixed --qps (10,000 by default), p50/p99/max from dnsperf -v's per-query times.
 * Rounds alternate ours, dnsmasq, ours, dnsmasq (--rounds 2). Goals: ≥ 0.8× dnsmasq's queries/s,
 * p99 ≤ 2 ms at 10k queries/s.
 *
 *   node dist/bench/dns.js [--services 1000] [--seconds 10] [--qps 10000] [--rounds 2]
 *
 * Needs `dnsperf` and `dnsmasq` (dnsmasq-base) on PATH: native-scripts/bench.sh installs them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { MemoryServiceView, startDnsServer } from '../src/agent/dns/index.js';
import { quantile } from './stats.js';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
    qps: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '2' },
    serve: { type: 'boolean', default: false },
    port: { type: 'string', default: '53' },
    'resolv-conf': { type: 'string', default: '' },
  },
});
const SERVICES = Number(values.services);
const SECONDS = Number(values.seconds);
const QPS = Number(values.qps);
const ROUNDS = Number(values.rounds);
const NS = 'sb-dns';
const OURS_PORT = 53;
const DNSMASQ_PORT = 5353;
const ZONE = 'cluster.local';

const clusterIP = (i: number) => `10.84.${128 + Math.floor(i / 250)}.${(i % 250) + 1}`;
const podIP = (k: number) => `10.84.${64 + Math.floor(k / 250)}.${(k % 250) + 1}`;
const name = (i: number) => `svc-${i}.bench.svc.${ZONE}`;

/** The child: our server over a view of SERVICES Services, until killed. */
async function serve(): Promise<void> {
  const view = new MemoryServiceView();
  for (let i = 0; i < SERVICES; i++) {
    const ports = [{ name: 'http', port: 80, protocol: 'TCP' as const }];
    view.setService({ namespace: 'bench', name: `svc-${i}`, clusterIP: clusterIP(i), ports });
    view.setEndpointSlice('bench', `svc-${i}`, `svc-${i}-abcde`, Array.from({ length: 10 }, (_, j) => ({ ip: podIP(i * 10 + j), ports: [{ name: 'http', port: 8080, protocol: 'TCP' as const }] })));
  }
  await startDnsServer({ view, clusterDomain: ZONE, host: '127.0.0.1', port: Number(values.port), resolvConfPath: values['resolv-conf']! });
  console.log('ready');
}

const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const processes: ChildProcess[] = [];

function startIn(args: string[], ready: (out: string) => boolean): Promise<ChildProcess> {
  const p = spawn('ip', ['netns', 'exec', NS, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  processes.push(p);
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      if (ready(out)) resolve(p);
    };
    p.stdout!.on('data', onData);
    p.stderr!.on('data', onData);
    p.once('exit', (code) => reject(new Error(`${args[0]} exited (${code}): ${out}`)));
  });
}

interface Throughput {
  qps: number;
  lost: string;
  avgMs: number;
}

async function dnsperf(args: string[]): Promise<string> {
  const r = await execa('ip', ['netns', 'exec', NS, 'dnsperf', '-s', '127.0.0.1', ...args], { maxBuffer: 1 << 30 });
  return r.stdout;
}

async function throughput(port: number, queries: string): Promise<Throughput> {
  const out = await dnsperf(['-p', String(port), '-d', queries, '-l', String(SECONDS), '-c', '4', '-q', '100']);
  const qps = Number(/Queries per second:\s+([\d.]+)/.exec(out)?.[1]);
  const lost = /Queries lost:\s+(.*)/.exec(out)?.[1]?.trim() ?? '?';
  const avgMs = Number(/Average Latency \(s\):\s+([\d.]+)/.exec(out)?.[1]) * 1000;
  return { qps, lost, avgMs };
}

interface Latency {
  p50: number;
  p99: number;
  max: number;
  qps: number;
  lost: string;
}

async function latency(port: number, queries: string): Promise<Latency> {
  const out = await dnsperf(['-p', String(port), '-d', queries, '-l', String(SECONDS), '-Q', String(QPS), '-v']);
  const times = [...out.matchAll(/^> \S+ \S+ \S+ ([\d.]+)$/gm)].map((m) => Number(m[1]) * 1000);
  return {
    p50: quantile(times, 0.5),
    p99: quantile(times, 0.99),
    max: Math.max(...times),
    qps: Number(/Queries per second:\s+([\d.]+)/.exec(out)?.[1]),
    lost: /Queries lost:\s+(.*)/.exec(out)?.[1]?.trim() ?? '?',
  };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('dns bench: run as root (a network namespace of its own)');
  for (const tool of ['dnsperf', 'dnsmasq']) {
    const r = await execa('sh', ['-c', `command -v ${tool}`], { reject: false });
    if (r.exitCode !== 0) throw new Error(`dns bench: ${tool} is not installed (Debian packages dnsperf, dnsmasq-base; native-scripts/bench.sh installs them)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'sb-dns-'));
  try {
    const { stdout: commit } = await execa('git', ['rev-parse', '--short', 'HEAD'], { reject: false });
    const { stdout: dnsmasqVersion } = await execa('dnsmasq', ['--version']);
    console.log(`dns bench: commit ${commit}, ${new Date().toISOString()}, ${SERVICES} Services × 10 endpoints, ${dnsmasqVersion.split('\n')[0]}`);
    console.log(`load avg at start: ${load()}`);
    const hosts = join(dir, 'hosts');
    const queries = join(dir, 'queries');
    const resolv = join(dir, 'resolv.conf');
    writeFileSync(hosts, Array.from({ length: SERVICES }, (_, i) => `${clusterIP(i)} ${name(i)}\n`).join(''));
    writeFileSync(queries, Array.from({ length: SERVICES }, (_, i) => `${name(i)} A\n`).join(''));
    writeFileSync(resolv, 'nameserver 192.0.2.53\n'); // never asked: every query is a cluster name
    await execa('ip', ['netns', 'del', NS], { reject: false });
    await execa('ip', ['netns', 'add', NS]);
    await execa('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
    const self = fileURLToPath(import.meta.url);
    await startIn([process.execPath, self, '--serve', '--services', String(SERVICES), '--port', String(OURS_PORT), '--resolv-conf', resolv], (o) => o.includes('ready'));
    await startIn(
      ['dnsmasq', '-k', '-C', '/dev/null', `--port=${DNSMASQ_PORT}`, '--listen-address=127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts', `--addn-hosts=${hosts}`, '--local-ttl=5', '-u', 'root', '--pid-file=', '--log-facility=-'],
      (o) => o.includes(`read ${hosts}`),
    );
    // both answer the same name the same way before anything is timed
    for (const port of [OURS_PORT, DNSMASQ_PORT]) {
      const r = await execa('ip', ['netns', 'exec', NS, 'dnsperf', '-s', '127.0.0.1', '-p', String(port), '-d', queries, '-n', '1']);
      if (!/NOERROR \d+ \(100\.00%\)/.test(r.stdout)) throw new Error(`port ${port} does not answer every name: ${r.stdout}`);
    }
    const rows: string[] = [];
    const ours: { t: Throughput[]; l: Latency[] } = { t: [], l: [] };
    const ref: { t: Throughput[]; l: Latency[] } = { t: [], l: [] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const [label, port, acc] of [['ours', OURS_PORT, ours], ['dnsmasq', DNSMASQ_PORT, ref]] as const) {
        const before = load();
        const t = await throughput(port, queries);
        const l = await latency(port, queries);
        acc.t.push(t);
        acc.l.push(l);
        rows.push(
          `  round ${r + 1} ${label.padEnd(7)} (load ${before}): ${t.qps.toFixed(0)} q/s (lost ${t.lost}, avg ${t.avgMs.toFixed(2)} ms); ` +
            `at ${QPS} q/s: p50 ${l.p50.toFixed(2)} ms p99 ${l.p99.toFixed(2)} ms max ${l.max.toFixed(1)} ms (${l.qps.toFixed(0)} q/s, lost ${l.lost})`,
        );
        console.log(rows[rows.length - 1]);
      }
    }
    const best = (xs: Throughput[]) => Math.max(...xs.map((x) => x.qps));
    const ratios = ours.t.map((t, i) => t.qps / ref.t[i]!.qps);
    const p99 = Math.max(...ours.l.map((l) => l.p99));
    console.log(`ratio ours/dnsmasq q/s by round: ${ratios.map((x) => x.toFixed(2)).join(' ')} (best ${best(ours.t).toFixed(0)} vs ${best(ref.t).toFixed(0)}); goal ≥ 0.8×: ${Math.min(...ratios) >= 0.8 ? 'met' : 'NOT met'}`);
    console.log(`ours p99 at ${QPS} q/s, worst round: ${p99.toFixed(2)} ms (dnsmasq ${Math.max(...ref.l.map((l) => l.p99)).toFixed(2)} ms); goal ≤ 2 ms: ${p99 <= 2 ? 'met' : 'NOT met'}; load at end ${load()}`);
  } finally {
    for (const p of processes) p.kill('SIGKILL');
    await execa('ip', ['netns', 'del', NS], { reject: false });
    rmSync(dir, { recursive: true, force: true });
  }
}

if (values.serve) await serve();
else await main();
