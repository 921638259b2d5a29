/**
 * The service proxy on a node with 1,000 Services × 10 endpoints (issue 12's Benchmark), root only,
 * in network namespaces of its own (prefix sb-, addresses in 10.84.0.0/16):
 *
 *   sb-cl 10.84.0.2 ── 10.84.0.1 sb-node 10.84.0.5 ── 10.84.0.6 sb-be
 *   (clients)                (NftProxy's table          (one TCP server on 0.0.0.0:8080 answering with
 *                             inet sb-proxy)              the address it was reached on; 10.84.1.0/24
 *                                                         and 10.84.64.0/18 are local routes there, so
 *                                                         every endpoint address answers)
 *
 * Endpoints of the 1,000 Services: 10.84.64.0/18; the changes' new endpoints: 10.84.1.0/24;
 * ClusterIPs: 10.84.128.0/17.
 *
 *   node dist/bench/service-proxy.js [--services 1000] [--endpoints 10] [--changes 100] [--resyncs 3]
 *                                    [--connections 2000] [--concurrency 8] [--rounds 2]
 *
 * NftProxy applies through corelet-nft (dist/bin, a long-lived libnftables process); the changes are
 * timed again through `nft -f` per sync (helper: null, what NftProxy falls back to), same run.
 *
 * 1. Rule sync, as the agent drives NftProxy: one EndpointSlice change (one endpoint of a random
 *    Service replaced by a live address) → `sync(state)`. Two times per change: until sync returns
 *    (nft committed the transaction: the rule is in the kernel) and until a client connection to the
 *    ClusterIP is answered by the new endpoint (probing from sb-cl, a new connection each time: the
 *    spread is random, so ~10 connections). p50/p99 of each. Reference from the same run: the same
 *    changes on a node holding one Service (what nft costs when the table is small).
 * 2. Full resync: a new NftProxy (an agent restart) syncing the whole state over the table.
 * 3. Connection rate: connections/s (connect, read the answer, close; --concurrency at a time) from
 *    sb-cl to a Service with one endpoint through its ClusterIP vs straight to that endpoint's pod IP,
 *    same server, rounds alternating; the ratio.
 *
 * Everything it makes (netns, so their links and the table, processes, temp dir) is removed at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { compileRuleset, compileRulesetUpdate, NftProxy, type ProxyEndpoint, type ProxyServicePortEndpoints, type ProxyState } from '../src/agent/proxy/index.js';
import { median, quantile } from './stats.js';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '1000' },
    endpoints: { type: 'string', default: '10' },
    changes: { type: 'string', default: '100' },
    resyncs: { type: 'string', default: '3' },
    connections: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '2' },
  },
});
const SERVICES = Number(values.services);
const ENDPOINTS = Number(values.endpoints);
const CHANGES = Number(values.changes);
const RESYNCS = Number(values.resyncs);
const CONNECTIONS = Number(values.connections);
const CONCURRENCY = Number(values.concurrency);
const ROUNDS = Number(values.rounds);

const NODE = 'sb-node';
const CLIENT = 'sb-cl';
const BACKEND = 'sb-be';
const ALL_NS = [NODE, CLIENT, BACKEND];
const TABLE = { family: 'inet', name: 'sb-proxy' } as const;
const SMALL_TABLE = { family: 'inet', name: 'sb-proxy-small' } as const;
const NFT = ['ip', 'netns', 'exec', NODE, 'nft'];
/** The changes' new endpoint addresses: 10.84.1.1 .. 10.84.1.LIVE. */
const LIVE = 200;
const CONN_SERVICE_IP = '10.84.255.254';
const CONN_POD_IP = '10.84.1.250';

const SERVER = `
import { createServer } from 'node:net';
createServer((s) => { s.on('error', () => {}); s.end(s.localAddress.replace(/^::ffff:/, '') + '\\n'); })
  .listen(8080, '0.0.0.0', () => console.log('listening'));
`;

/**
 * Reads commands on stdin, one JSON per line, answers one JSON line each:
 *  {probe: [host, port, want]} → connects until the answer is \`want\` → {ms, tries}
 *  {rate: [host, port, count, concurrency]} → {ms, errors}
 */
const CLIENT_SCRIPT = `
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
const once = (host, port) => new Promise((resolve) => {
  let buf = '', done = false;
  const s = connect({ host, port });
  const finish = (v) => { if (!done) { done = true; s.destroy(); resolve(v); } };
  s.setTimeout(5000, () => finish('TIMEOUT'));
  s.on('data', (d) => { buf += d; });
  s.on('end', () => finish(buf.trim()));
  s.on('error', (e) => finish(e.code ?? 'ERROR'));
});
for await (const line of createInterface({ input: process.stdin })) {
  const cmd = JSON.parse(line);
  const t0 = performance.now();
  if (cmd.probe) {
    const [host, port, want] = cmd.probe;
    let tries = 0, last = '';
    while (performance.now() - t0 < 10000) { tries++; last = await once(host, port); if (last === want) break; }
    console.log(JSON.stringify({ ms: performance.now() - t0, tries, ok: last === want, last }));
  } else if (cmd.rate) {
    const [host, port, count, concurrency] = cmd.rate;
    let left = count, errors = 0;
    const worker = async () => { while (left > 0) { left--; const a = await once(host, port); if (!/^\\d+\\.\\d+\\.\\d+\\.\\d+$/.test(a)) errors++; } };
    await Promise.all(Array.from({ length: concurrency }, worker));
    console.log(JSON.stringify({ ms: performance.now() - t0, errors }));
  }
}
`;

const run = (cmd: string, args: string[], input?: string) => execa(cmd, args, input === undefined ? {} : { input });
const ipn = (ns: string, ...args: string[]) => run('ip', ['-n', ns, ...args]);
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const ms = (x: number) => `${x.toFixed(1)} ms`;

const processes: ChildProcess[] = [];
let dir = '';

async function removeNetns(): Promise<void> {
  for (const ns of ALL_NS) await execa('ip', ['netns', 'del', ns], { reject: false });
}

async function topology(): Promise<void> {
  await removeNetns(); // only our own names, left by a killed run
  for (const ns of ALL_NS) {
    await run('ip', ['netns', 'add', ns]);
    await ipn(ns, 'link', 'set', 'lo', 'up');
  }
  await ipn(NODE, 'link', 'add', 'cl', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', CLIENT);
  await ipn(NODE, 'link', 'add', 'be', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', BACKEND);
  await ipn(NODE, 'addr', 'add', '10.84.0.1/30', 'dev', 'cl');
  await ipn(NODE, 'addr', 'add', '10.84.0.5/30', 'dev', 'be');
  await ipn(CLIENT, 'addr', 'add', '10.84.0.2/30', 'dev', 'eth0');
  await ipn(BACKEND, 'addr', 'add', '10.84.0.6/30', 'dev', 'eth0');
  for (const [ns, link] of [[NODE, 'cl'], [NODE, 'be'], [CLIENT, 'eth0'], [BACKEND, 'eth0']] as const) await ipn(ns, 'link', 'set', link, 'up');
  await ipn(CLIENT, 'route', 'add', 'default', 'via', '10.84.0.1');
  await ipn(BACKEND, 'route', 'add', 'default', 'via', '10.84.0.5');
  await ipn(NODE, 'route', 'add', '10.84.1.0/24', 'via', '10.84.0.6');
  await ipn(NODE, 'route', 'add', '10.84.64.0/18', 'via', '10.84.0.6');
  await run('ip', ['netns', 'exec', NODE, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  // every endpoint address is the backend's own (AnyIP local routes): the server answers on each
  await ipn(BACKEND, 'route', 'add', 'local', '10.84.1.0/24', 'dev', 'lo');
  await ipn(BACKEND, 'route', 'add', 'local', '10.84.64.0/18', 'dev', 'lo');
}

function start(ns: string, script: string, args: string[] = []): ChildProcess {
  const file = join(dir, `${ns}.mjs`);
  writeFileSync(file, script);
  const p = spawn('ip', ['netns', 'exec', ns, process.execPath, file, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  processes.push(p);
  return p;
}

/** A line-oriented JSON conversation with the client process. */
function conversation(p: ChildProcess): (cmd: unknown) => Promise<Record<string, unknown>> {
  let buf = '';
  const waiting: ((line: string) => void)[] = [];
  p.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      waiting.shift()?.(line);
    }
  });
  return (cmd) =>
    new Promise((resolve) => {
      waiting.push((line) => resolve(JSON.parse(line) as Record<string, unknown>));
      p.stdin!.write(`${JSON.stringify(cmd)}\n`);
    });
}

async function waitForLine(p: ChildProcess, text: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      if (buf.includes(text)) {
        p.stdout!.off('data', onData);
        resolve();
      }
    };
    p.stdout!.on('data', onData);
    p.once('exit', (code) => reject(new Error(`process exited (${code}) before printing ${text}`)));
  });
}

const clusterIP = (i: number) => `10.84.${128 + Math.floor(i / 250)}.${(i % 250) + 1}`;
const fakeEndpoint = (k: number) => `10.84.${64 + Math.floor(k / 250)}.${(k % 250) + 1}`;
const endpoint = (ip: string): ProxyEndpoint => ({ ip, port: 8080, ready: true, serving: true, terminating: false });

function bigState(services: number): ProxyState {
  const state: ProxyState = { services: [], endpoints: [], nodeAddresses: ['10.84.0.1'], clusterCIDR: '10.84.0.0/17' };
  for (let i = 0; i < services; i++) {
    const name = `svc-${i}`;
    state.services.push({ namespace: 'bench', name, clusterIP: clusterIP(i), ports: [{ name: 'http', port: 80, protocol: 'TCP' }] });
    state.endpoints.push({ namespace: 'bench', service: name, portName: 'http', protocol: 'TCP', endpoints: Array.from({ length: ENDPOINTS }, (_, j) => endpoint(fakeEndpoint(i * ENDPOINTS + j))) });
  }
  // the connection-rate Service: one endpoint, the live pod address
  state.services.push({ namespace: 'bench', name: 'conn', clusterIP: CONN_SERVICE_IP, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] });
  state.endpoints.push({ namespace: 'bench', service: 'conn', portName: 'http', protocol: 'TCP', endpoints: [endpoint(CONN_POD_IP)] });
  return state;
}

interface ChangeTimes {
  sync: number[];
  /** The same compile sync makes (compileRulesetUpdate), timed alone on a shadow copy: sync − compile ≈ running nft. */
  compile: number[];
  answered: number[];
  tries: number[];
  failed: number;
}

/**
 * `changes` EndpointSlice changes: endpoint j of a random Service becomes the next live address;
 * the state is a new object each time (as the agent's view would give), sync() timed, then the new
 * endpoint probed through the ClusterIP.
 */
async function changes(proxy: NftProxy, state: ProxyState, services: number, count: number, ask: (cmd: unknown) => Promise<Record<string, unknown>>, seed: number): Promise<ChangeTimes> {
  const out: ChangeTimes = { sync: [], compile: [], answered: [], tries: [], failed: 0 };
  let shadow = compileRuleset(state, proxy.table);
  let rnd = seed;
  const random = () => (rnd = (rnd * 1103515245 + 12345) % 2147483648);
  let live = 0;
  let endpoints: ProxyServicePortEndpoints[] = state.endpoints;
  for (let c = 0; c < count; c++) {
    const i = random() % services;
    const j = random() % ENDPOINTS;
    const ip = `10.84.1.${(live++ % LIVE) + 1}`;
    const next = endpoints.map((e, k) => (k === i ? { ...e, endpoints: e.endpoints.map((ep, m) => (m === j ? endpoint(ip) : ep)) } : e));
    const c0 = performance.now();
    shadow = compileRulesetUpdate(shadow, { ...state, endpoints: next }, proxy.table);
    out.compile.push(performance.now() - c0);
    const t0 = performance.now();
    endpoints = next;
    await proxy.sync({ ...state, endpoints });
    const t1 = performance.now();
    const r = (await ask({ probe: [clusterIP(i), 80, ip] })) as { ms: number; tries: number; ok: boolean };
    out.sync.push(t1 - t0);
    out.answered.push(t1 - t0 + r.ms);
    out.tries.push(r.tries);
    if (!r.ok) out.failed++;
  }
  return out;
}

function report(label: string, t: ChangeTimes): void {
  console.log(
    `${label}: sync p50 ${ms(quantile(t.sync, 0.5))} p99 ${ms(quantile(t.sync, 0.99))} max ${ms(Math.max(...t.sync))} ` +
      `(of it compile p50 ${ms(quantile(t.compile, 0.5))} p99 ${ms(quantile(t.compile, 0.99))}); ` +
      `new endpoint answers p50 ${ms(quantile(t.answered, 0.5))} p99 ${ms(quantile(t.answered, 0.99))} ` +
      `(probe connections median ${median(t.tries)}, ${t.failed} not answered in 10 s)`,
  );
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('service-proxy bench: run as root (network namespaces, nft)');
  dir = mkdtempSync(join(tmpdir(), 'sb-proxy-'));
  const { stdout: commit } = await execa('git', ['rev-parse', '--short', 'HEAD'], { reject: false });
  const { stdout: nftVersion } = await execa('nft', ['--version'], { reject: false });
  console.log(`service-proxy bench: commit ${commit}, ${new Date().toISOString()}, ${nftVersion}; ${SERVICES} Services × ${ENDPOINTS} endpoints (+1 for the connection rate)`);
  const cpu = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '?';
  console.log(`CPU: ${cpu}, ${cpus().length} cores; load avg at start: ${load()}`);
  await topology();
  const server = start(BACKEND, SERVER);
  await waitForLine(server, 'listening');
  const client = start(CLIENT, CLIENT_SCRIPT);
  const ask = conversation(client);

  // the reference: the same changes on a node holding one Service (+ the connection Service)
  const small = new NftProxy({ table: SMALL_TABLE, nft: NFT, conntrack: null });
  const smallState = bigState(1);
  await small.sync(smallState);
  const smallTimes = await changes(small, smallState, 1, CHANGES, ask, 7);
  const smallCli = new NftProxy({ table: SMALL_TABLE, nft: NFT, helper: null, conntrack: null });
  await smallCli.sync(smallState);
  const smallCliTimes = await changes(smallCli, smallState, 1, CHANGES, ask, 7);
  await small.deleteTable();
  await small.close();

  const state = bigState(SERVICES);
  let t = performance.now();
  const proxy = new NftProxy({ table: TABLE, nft: NFT, conntrack: null });
  const first = await proxy.sync(state);
  console.log(`first sync (empty table → ${SERVICES} Services): ${ms(performance.now() - t)}, nft input ${first.text.split('\n').length - 1} lines, ${(first.text.length / 1e6).toFixed(1)} MB; load ${load()}`);

  const resyncs: number[] = [];
  for (let r = 0; r < RESYNCS; r++) {
    t = performance.now();
    const again = new NftProxy({ table: TABLE, nft: NFT, conntrack: null });
    await again.sync(state);
    resyncs.push(performance.now() - t);
    await again.close();
  }
  console.log(`full resync (a new NftProxy over the table): ${resyncs.map(ms).join(', ')}; load ${load()}`);

  const loadBefore = load();
  const bigTimes = await changes(proxy, state, SERVICES, CHANGES, ask, 11);
  console.log(`one EndpointSlice change × ${CHANGES}, through corelet-nft (load ${loadBefore} → ${load()}):`);
  report(`  ${SERVICES} Services`, bigTimes);
  report('  1 Service (reference)', smallTimes);
  console.log(`  ratio of p50 sync times ${(quantile(bigTimes.sync, 0.5) / quantile(smallTimes.sync, 0.5)).toFixed(2)}×; goal p99 ≤ 50 ms: ${quantile(bigTimes.sync, 0.99) <= 50 ? 'met' : 'NOT met'} (sync), ${quantile(bigTimes.answered, 0.99) <= 50 ? 'met' : 'NOT met'} (answered)`);
  // the same through `nft -f` per sync (the fallback; what NftProxy did before corelet-nft)
  const cli = new NftProxy({ table: TABLE, nft: NFT, helper: null, conntrack: null });
  await cli.sync(state);
  const loadCli = load();
  const cliTimes = await changes(cli, state, SERVICES, CHANGES, ask, 11);
  console.log(`the same changes through nft -f per sync (load ${loadCli} → ${load()}):`);
  report(`  ${SERVICES} Services`, cliTimes);
  report('  1 Service (reference)', smallCliTimes);
  await proxy.close();

  // connection rate: ClusterIP vs pod IP, alternating rounds
  const rate = async (host: string, port: number) => {
    const r = (await ask({ rate: [host, port, CONNECTIONS, CONCURRENCY] })) as { ms: number; errors: number };
    return { perSecond: (CONNECTIONS * 1000) / r.ms, errors: r.errors };
  };
  await rate(CONN_POD_IP, 8080); // warm-up
  const viaService: number[] = [];
  const direct: number[] = [];
  let errors = 0;
  const loadConn = load();
  for (let r = 0; r < ROUNDS; r++) {
    const a = await rate(CONN_SERVICE_IP, 80);
    const b = await rate(CONN_POD_IP, 8080);
    viaService.push(a.perSecond);
    direct.push(b.perSecond);
    errors += a.errors + b.errors;
  }
  const ratio = median(viaService) / median(direct);
  console.log(`connection rate (${CONNECTIONS} connections, ${CONCURRENCY} at a time, ${ROUNDS} rounds each; load ${loadConn} → ${load()}):`);
  console.log(`  ClusterIP ${median(viaService).toFixed(0)}/s (${viaService.map((x) => x.toFixed(0)).join(' ')}), pod IP ${median(direct).toFixed(0)}/s (${direct.map((x) => x.toFixed(0)).join(' ')}), ratio ${ratio.toFixed(2)}× (goal ≥ 0.9×: ${ratio >= 0.9 ? 'met' : 'NOT met'}), ${errors} errors`);
}

try {
  await main();
} finally {
  for (const p of processes) p.kill('SIGKILL');
  await removeNetns();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
}
