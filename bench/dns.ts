/**
 * The node's cluster DNS server under dnsperf (issue 12's Benchmark), root only, in a network
 * namespace of its own (sb-dns, both servers on its 127.0.0.1):
 *
 *   ours:    startDnsServer (src/agent/dns) with a MemoryServiceView of --services Services × 10
 *            ready endpoints and the node DNS process's source ACL (SourceAcl), in a child node
 *            process (`--serve`), port 53;
 *   dnsmasq: the same names and addresses from a hosts file (--addn-hosts, --local-ttl 5, no
 *            upstream), port 5353 — the reference, in the same run.
 *
 * dnsperf (Debian package) asks `svc-N.bench.svc.cluster.local A` for every Service in turn:
 *   throughput: as fast as answers come (-q 100 outstanding, -c 4 sockets), --seconds per round,
 *     with the server's CPU time per answered query (utime+stime from /proc: a figure a busy host
 *     disturbs far less than queries/s, since it does not count the time the server waits for a core);
 *   latency: at a fixed --qps (10,000 by default), p50/p99/max from dnsperf -v's per-query times.
 * Rounds alternate the order (ours first, then dnsmasq first, ...), each line with the load before and
 * after; the verdicts go by the median over the rounds and say in how many rounds each goal held.
 * Goals: ≥ 0.8× dnsmasq's queries/s, p99 ≤ 2 ms at 10k queries/s.
 *
 *   node dist/bench/dns.js [--services 1000] [--seconds 5] [--qps 10000] [--rounds 6] [--netns sb-dns] [--workers 1]
 *
 * --workers N (an experiment, not what the node runs): ours in N node processes (the cluster module)
 * that read one shared UDP socket, each with its own copy of the view; the CPU figure is their sum.
 *
 * Needs `dnsperf` and `dnsmasq` (dnsmasq-base) on PATH: native-scripts/bench.sh installs them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import cluster from 'node:cluster';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { MemoryServiceView, SourceAcl, startDnsServer } from '../src/agent/dns/index.js';
import { median, quantile } from './stats.js';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '5' },
    qps: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '6' },
    serve: { type: 'boolean', default: false },
    port: { type: 'string', default: '53' },
    'resolv-conf': { type: 'string', default: '' },
    netns: { type: 'string', default: 'sb-dns' },
    workers: { type: 'string', default: '1' },
  },
});
const SERVICES = Number(values.services);
const SECONDS = Number(values.seconds);
const QPS = Number(values.qps);
const ROUNDS = Number(values.rounds);
const NS = values.netns!;
const OURS_PORT = 53;
const DNSMASQ_PORT = 5353;
const ZONE = 'cluster.local';

const clusterIP = (i: number) => `10.84.${128 + Math.floor(i / 250)}.${(i % 250) + 1}`;
const podIP = (k: number) => `10.84.${64 + Math.floor(k / 250)}.${(k % 250) + 1}`;
const name = (i: number) => `svc-${i}.bench.svc.${ZONE}`;

/** The child: our server over a view of SERVICES Services, until killed. */
async function serve(): Promise<void> {
  const workers = Number(values.workers);
  if (workers > 1 && cluster.isPrimary) {
    let ready = 0;
    for (let i = 0; i < workers; i++) {
      cluster.fork().on('message', (m) => {
        if (m === 'ready' && ++ready === workers) console.log('ready');
      });
    }
    return;
  }
  const view = new MemoryServiceView();
  for (let i = 0; i < SERVICES; i++) {
    const ports = [{ name: 'http', port: 80, protocol: 'TCP' as const }];
    view.setService({ namespace: 'bench', name: `svc-${i}`, clusterIP: clusterIP(i), ports });
    view.setEndpointSlice('bench', `svc-${i}`, `svc-${i}-abcde`, Array.from({ length: 10 }, (_, j) => ({ ip: podIP(i * 10 + j), ports: [{ name: 'http', port: 8080, protocol: 'TCP' as const }] })));
  }
  // the node DNS process's ACL (the pod CIDR; loopback is always let in)
  const acl = new SourceAcl(['10.84.0.0/16'], () => []);
  await startDnsServer({ view, clusterDomain: ZONE, host: '127.0.0.1', port: Number(values.port), resolvConfPath: values['resolv-conf']!, allowSource: (a) => acl.allows(a) });
  if (cluster.isWorker) process.send!('ready');
  else console.log('ready');
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
  /** The server's CPU time per answered query, µs. */
  cpuUs: number;
}

const CLOCK_TICKS = 100; // USER_HZ: /proc's utime and stime unit on Linux

/** utime + stime of a process and its children (--workers), in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  let total = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  let children: string[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    // gone, or no such file
  }
  for (const c of children) total += cpuSeconds(Number(c));
  return total;
}

async function dnsperf(args: string[]): Promise<string> {
  const r = await execa('ip', ['netns', 'exec', NS, 'dnsperf', '-s', '127.0.0.1', ...args], { maxBuffer: 1 << 30 });
  return r.stdout;
}

async function throughput(port: number, queries: string, pid: number): Promise<Throughput> {
  const cpu0 = cpuSeconds(pid);
  const out = await dnsperf(['-p', String(port), '-d', queries, '-l', String(SECONDS), '-c', '4', '-q', '100']);
  const cpu = cpuSeconds(pid) - cpu0;
  const qps = Number(/Queries per second:\s+([\d.]+)/.exec(out)?.[1]);
  const completed = Number(/Queries completed:\s+(\d+)/.exec(out)?.[1]);
  const lost = /Queries lost:\s+(.*)/.exec(out)?.[1]?.trim() ?? '?';
  const avgMs = Number(/Average Latency \(s\):\s+([\d.]+)/.exec(out)?.[1]) * 1000;
  return { qps, lost, avgMs, cpuUs: (cpu * 1e6) / completed };
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
    const cpu = cpus();
    console.log(`host: ${cpu.length} × ${cpu[0]?.model ?? '?'}, node ${process.version}; ${ROUNDS} rounds of ${SECONDS} s; ours in ${values.workers} process(es); load avg at start: ${load()}`);
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
    const oursProc = await startIn(
      [process.execPath, self, '--serve', '--services', String(SERVICES), '--port', String(OURS_PORT), '--resolv-conf', resolv, '--workers', values.workers!],
      (o) => o.includes('ready'),
    );
    const dnsmasqProc = await startIn(
      ['dnsmasq', '-k', '-C', '/dev/null', `--port=${DNSMASQ_PORT}`, '--listen-address=127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts', `--addn-hosts=${hosts}`, '--local-ttl=5', '-u', 'root', '--pid-file=', '--log-facility=-'],
      (o) => o.includes(`read ${hosts}`),
    );
    // both answer the same name the same way before anything is timed
    for (const port of [OURS_PORT, DNSMASQ_PORT]) {
      const r = await execa('ip', ['netns', 'exec', NS, 'dnsperf', '-s', '127.0.0.1', '-p', String(port), '-d', queries, '-n', '1']);
      if (!/NOERROR \d+ \(100\.00%\)/.test(r.stdout)) throw new Error(`port ${port} does not answer every name: ${r.stdout}`);
    }
    const ours: { t: Throughput[]; l: Latency[] } = { t: [], l: [] };
    const ref: { t: Throughput[]; l: Latency[] } = { t: [], l: [] };
    const servers = [
      ['ours', OURS_PORT, ours, oursProc.pid!],
      ['dnsmasq', DNSMASQ_PORT, ref, dnsmasqProc.pid!],
    ] as const;
    for (let r = 0; r < ROUNDS; r++) {
      // alternate who goes first: a load that drifts during a round hurts both the same over the run
      for (const [label, port, acc, pid] of r % 2 === 0 ? servers : [...servers].reverse()) {
        const before = load();
        const t = await throughput(port, queries, pid);
        const l = await latency(port, queries);
        acc.t.push(t);
        acc.l.push(l);
        console.log(
          `  round ${r + 1} ${label.padEnd(7)} (load ${before} → ${load()}): ${t.qps.toFixed(0)} q/s (lost ${t.lost}, avg ${t.avgMs.toFixed(2)} ms, ` +
            `${t.cpuUs.toFixed(1)} µs CPU/query); at ${QPS} q/s: p50 ${l.p50.toFixed(2)} ms p99 ${l.p99.toFixed(2)} ms max ${l.max.toFixed(1)} ms (${l.qps.toFixed(0)} q/s, lost ${l.lost})`,
        );
      }
    }
    const ratios = ours.t.map((t, i) => t.qps / ref.t[i]!.qps);
    const met = ratios.filter((x) => x >= 0.8).length;
    console.log(
      `ratio ours/dnsmasq q/s by round: ${ratios.map((x) => x.toFixed(2)).join(' ')}; median ${median(ratios).toFixed(2)} ` +
        `(median q/s ${median(ours.t.map((t) => t.qps)).toFixed(0)} vs ${median(ref.t.map((t) => t.qps)).toFixed(0)}); goal ≥ 0.8×: ${median(ratios) >= 0.8 ? 'met' : 'NOT met'} by the median, in ${met} of ${ROUNDS} rounds`,
    );
    const cpuOurs = median(ours.t.map((t) => t.cpuUs));
    const cpuRef = median(ref.t.map((t) => t.cpuUs));
    console.log(`server CPU per query, median: ours ${cpuOurs.toFixed(1)} µs, dnsmasq ${cpuRef.toFixed(1)} µs (dnsmasq/ours ${(cpuRef / cpuOurs).toFixed(2)})`);
    const p99s = ours.l.map((l) => l.p99);
    const p99ok = p99s.filter((x) => x <= 2).length;
    console.log(
      `ours p99 at ${QPS} q/s by round: ${p99s.map((x) => x.toFixed(2)).join(' ')} ms; median ${median(p99s).toFixed(2)} ms (dnsmasq ${median(ref.l.map((l) => l.p99)).toFixed(2)} ms); ` +
        `goal ≤ 2 ms: ${median(p99s) <= 2 ? 'met' : 'NOT met'} by the median, in ${p99ok} of ${ROUNDS} rounds; load at end ${load()}`,
    );
  } finally {
    for (const p of processes) p.kill('SIGKILL');
    await execa('ip', ['netns', 'del', NS], { reject: false });
    rmSync(dir, { recursive: true, force: true });
  }
}

if (values.serve) await serve();
else await main();
