/**
 * The node DNS process and its feed: what the agent sends is checked field by field, a snapshot
 * replaces the view only when it commits, deltas follow, and the process keeps answering from the
 * last view when no agent is attached. The link (the agent's side) attaches to a running process,
 * starts one when none runs, and the pidfile/cmdline check keeps a stale pidfile harmless. Real
 * sockets on 127.0.0.1 and a temporary folder; no root.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { ipv4ToNumber, silentLogger } from '../../../src/lib/index.js';
import { dottedQuad } from '../../../src/agent/dns/source-acl.js';
import {
  dnsBuildId,
  DnsProcessLink,
  FEED_PROTOCOL,
  MemoryServiceView,
  parseFeedOp,
  parseHello,
  runDnsProcess,
  runningDnsPid,
  SourceAcl,
  stopDnsProcess,
  type DnsProcessSettings,
  type RunningDnsProcess,
} from '../../../src/agent/dns/index.js';
import { query, udpQuery } from './dns-helpers.js';

const ZONE = 'cluster.local';
const svc = (name: string, ip: string) => ({ op: 'service', spec: { namespace: 'default', name, clusterIP: ip, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } });

describe('feed messages are validated field by field', () => {
  it('accepts each operation and normalizes CIDRs', () => {
    assert.deepEqual(parseFeedOp(JSON.stringify(svc('web', '10.96.0.20'))), svc('web', '10.96.0.20'));
    assert.deepEqual(parseFeedOp('{"op":"allow","cidrs":["10.244.7.9/16"]}'), { op: 'allow', cidrs: ['10.244.0.0/16'] });
    assert.deepEqual(parseFeedOp('{"op":"delete-slice","namespace":"default","slice":"web-abc"}'), { op: 'delete-slice', namespace: 'default', slice: 'web-abc' });
    const slice = parseFeedOp(JSON.stringify({ op: 'slice', namespace: 'default', service: 'kv', slice: 'kv-1', endpoints: [{ ip: '10.244.1.5', hostname: 'kv-0', ports: [] }] }));
    assert.equal(slice.op, 'slice');
  });

  const bad: [string, unknown, RegExp][] = [
    ['not JSON', 'nope', /not JSON/],
    ['unknown op', { op: 'exec' }, /message\.op must be/],
    ['a clusterIP that is not IPv4', { op: 'service', spec: { namespace: 'default', name: 'x', clusterIP: '10.96.0.300', ports: [] } }, /service\.spec\.clusterIP/],
    ['a name with upper case', { op: 'service', spec: { namespace: 'default', name: 'X', clusterIP: null, ports: [] } }, /service\.spec\.name/],
    ['a port out of range', { op: 'service', spec: { namespace: 'default', name: 'x', clusterIP: null, ports: [{ port: 70000, protocol: 'TCP' }] } }, /service\.spec\.ports\[0\]\.port/],
    ['a protocol', { op: 'service', spec: { namespace: 'default', name: 'x', clusterIP: null, ports: [{ port: 80, protocol: 'ICMP' }] } }, /ports\[0\]\.protocol/],
    ['an endpoint IP', { op: 'slice', namespace: 'default', service: 'x', slice: 'x-1', endpoints: [{ ip: 'evil', ports: [] }] }, /slice\.endpoints\[0\]\.ip/],
    ['a hostname with a dot', { op: 'slice', namespace: 'default', service: 'x', slice: 'x-1', endpoints: [{ ip: '10.0.0.1', hostname: 'a.b', ports: [] }] }, /endpoints\[0\]\.hostname/],
    ['a CIDR', { op: 'allow', cidrs: ['10.0.0.0/33'] }, /allow\.cidrs\[0\]/],
    ['endpoints not an array', { op: 'slice', namespace: 'default', service: 'x', slice: 'x-1', endpoints: {} }, /slice\.endpoints must be an array/],
  ];
  for (const [what, msg, re] of bad) {
    it(`refuses ${what}, naming the field`, () => {
      assert.throws(() => parseFeedOp(typeof msg === 'string' ? msg : JSON.stringify(msg)), re);
    });
  }

  it('checks the DNS process hello on the agent side', () => {
    assert.throws(() => parseHello('{"op":"hello","protocol":1}'), /hello must carry/);
    assert.throws(() => parseHello('{"op":"other"}'), /hello\.op/);
  });
});

describe('SourceAcl', () => {
  it('allows the CIDRs, loopback and the node\'s own addresses (re-read on a miss), nothing else', () => {
    let local = ['192.168.5.1'];
    let now = 0;
    const acl = new SourceAcl(['10.244.0.0/16'], () => local, () => now);
    assert.ok(acl.allows('10.244.3.4'));
    assert.ok(acl.allows('::ffff:10.244.3.4'));
    assert.ok(acl.allows('127.0.0.1'));
    assert.ok(acl.allows('192.168.5.1'));
    assert.ok(!acl.allows('10.245.0.1'));
    assert.ok(!acl.allows('2001:db8::1'));
    local = ['192.168.5.1', '10.85.0.9'];
    assert.ok(!acl.allows('10.85.0.9'), 'not re-read within 2 s');
    now = 5000;
    assert.ok(acl.allows('10.85.0.9'));
    acl.setCidrs(['10.85.0.0/24']);
    assert.ok(!acl.allows('10.244.3.4'));
    assert.deepEqual(acl.cidrs(), ['10.85.0.0/24']);
  });
});

describe('dottedQuad (the ACL\'s address parser)', () => {
  it('takes exactly what node:net takes for IPv4, with the same number as ipv4ToNumber', () => {
    const cases = ['0.0.0.0', '10.244.3.4', '255.255.255.255', '127.0.0.1', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.04', '1..3.4', '.1.2.3', '1.2.3.', 'a.b.c.d', '1.2.3.4 ', '::1', '::ffff:1.2.3.4', '1000.1.1.1', '', '1.2.3.-4', '99.99.99.999'];
    for (const ip of cases) assert.equal(dottedQuad(ip), net.isIPv4(ip) ? ipv4ToNumber(ip) : -1, ip);
  });
});

/** A raw feed client: the hello, then lines we write. */
async function connectFeed(socket: string): Promise<{ sock: net.Socket; hello: ReturnType<typeof parseHello>; closed: Promise<void>; send: (...m: unknown[]) => void }> {
  const sock = net.connect(socket);
  sock.setEncoding('utf8');
  const closed = new Promise<void>((r) => sock.on('close', () => r()));
  sock.on('error', () => undefined);
  const hello = await new Promise<string>((resolve, reject) => {
    let buf = '';
    sock.on('data', (d: string) => {
      buf += d;
      if (buf.includes('\n')) resolve(buf.split('\n')[0]!);
    });
    sock.once('close', () => reject(new Error('closed before hello')));
  });
  return { sock, hello: parseHello(hello), closed, send: (...m) => sock.write(m.map((x) => `${typeof x === 'string' ? x : JSON.stringify(x)}\n`).join('')) };
}

async function answer(port: number, name: string): Promise<string> {
  const p = await udpQuery(port, query(name, 'A'));
  return p.rcode === 'NOERROR' ? (p.answers ?? []).map((a) => String((a as { data?: unknown }).data)).join(',') : p.rcode;
}

/** Polls `f` until it returns `want` (the feed is asynchronous): no timing assertion, a bound only. */
async function until<T>(f: () => Promise<T> | T, want: T, tries = 100): Promise<T> {
  let got = await f();
  for (let i = 0; i < tries && got !== want; i++) {
    await new Promise((r) => setTimeout(r, 20));
    got = await f();
  }
  return got;
}

let dir: string;
let resolvConf: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'svcdnsd-'));
  resolvConf = join(dir, 'resolv.conf');
  await writeFile(resolvConf, 'nameserver 127.0.0.1\n');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the DNS process and its feed', () => {
  let proc: RunningDnsProcess;
  let pdir: string;
  const settings = (): DnsProcessSettings => ({ host: '127.0.0.1', port: 0, clusterDomain: ZONE, resolvConf });

  before(async () => {
    pdir = join(dir, 'proc');
    proc = await runDnsProcess({ settings: settings(), dir: pdir, logger: silentLogger, upstreamPort: 1 });
  });
  after(async () => {
    await proc.close();
  });

  it('makes its socket 0600 in a 0700 folder and writes its pidfile', async () => {
    assert.equal((await stat(pdir)).mode & 0o777, 0o700);
    assert.equal((await stat(join(pdir, 'dns.sock'))).mode & 0o777, 0o600);
    assert.equal(readFileSync(join(pdir, 'dns.pid'), 'utf8').trim(), String(process.pid));
  });

  it('answers from a snapshot only once it commits, then follows deltas', async () => {
    const f = await connectFeed(join(pdir, 'dns.sock'));
    assert.equal(f.hello.pid, process.pid);
    f.send({ op: 'begin' }, svc('web', '10.96.0.20'), svc('api', '10.96.0.21'));
    await new Promise((r) => setTimeout(r, 50));
    // a fresh process knows no names yet: SERVFAIL (resolvers retry), not an NXDOMAIN they would cache
    assert.equal(await answer(proc.server.port, 'web.default.svc.cluster.local'), 'SERVFAIL', 'nothing before the commit');
    const early = await udpQuery(proc.server.port, query('web.default.svc.cluster.local', 'A'));
    assert.equal(early.flag_aa, false, 'not authoritative');
    assert.deepEqual(early.authorities ?? [], [], 'no SOA: nothing to cache');
    f.send({ op: 'commit' });
    assert.equal(await until(() => answer(proc.server.port, 'web.default.svc.cluster.local'), '10.96.0.20'), '10.96.0.20');
    f.send({ op: 'delete-service', namespace: 'default', name: 'api' }, svc('web', '10.96.0.30'));
    assert.equal(await until(() => answer(proc.server.port, 'web.default.svc.cluster.local'), '10.96.0.30'), '10.96.0.30');
    assert.equal(await answer(proc.server.port, 'api.default.svc.cluster.local'), 'NXDOMAIN');
    // a new snapshot replaces everything: what it lacks is gone
    f.send({ op: 'begin' }, svc('api', '10.96.0.21'), { op: 'commit' });
    assert.equal(await until(() => answer(proc.server.port, 'web.default.svc.cluster.local'), 'NXDOMAIN'), 'NXDOMAIN');
    assert.equal(await answer(proc.server.port, 'api.default.svc.cluster.local'), '10.96.0.21');
    f.sock.destroy();
    await f.closed;
  });

  it('drops the connection on a bad message and keeps answering from the view it had', async () => {
    const f = await connectFeed(join(pdir, 'dns.sock'));
    f.send({ op: 'service', spec: { namespace: 'default', name: 'api', clusterIP: 'x', ports: [] } });
    await f.closed;
    assert.equal(await answer(proc.server.port, 'api.default.svc.cluster.local'), '10.96.0.21');
  });

  it('keeps answering with no agent attached, and a new connection replaces an old one', async () => {
    const a = await connectFeed(join(pdir, 'dns.sock'));
    const b = await connectFeed(join(pdir, 'dns.sock'));
    await a.closed;
    assert.equal(await until(() => proc.attached(), true), true);
    b.sock.destroy();
    await b.closed;
    assert.equal(await until(() => proc.attached(), false), false);
    assert.equal(await answer(proc.server.port, 'api.default.svc.cluster.local'), '10.96.0.21');
  });

  it('takes the allowed sources from the agent (loopback stays allowed)', async () => {
    const f = await connectFeed(join(pdir, 'dns.sock'));
    f.send({ op: 'allow', cidrs: ['10.244.0.0/16'] });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(await answer(proc.server.port, 'api.default.svc.cluster.local'), '10.96.0.21');
    f.sock.destroy();
    await f.closed;
  });

  it('the link (agent side) attaches, sends nothing of its view before the scheduler snapshot, then the snapshot and every write', async () => {
    const view = new MemoryServiceView();
    view.setService({ namespace: 'default', name: 'web', clusterIP: '10.96.0.40', ports: [] });
    const link = new DnsProcessLink({ settings: settings(), dir: pdir, view, allow: () => ['10.244.0.0/16'], logger: silentLogger, command: ['/bin/false'] });
    await link.start();
    assert.equal(link.pid, process.pid, 'attached to the running process, none started');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(await answer(proc.server.port, 'api.default.svc.cluster.local'), '10.96.0.21', 'the old view until the snapshot');
    link.markSynced();
    assert.equal(await until(() => answer(proc.server.port, 'web.default.svc.cluster.local'), '10.96.0.40'), '10.96.0.40');
    assert.equal(await answer(proc.server.port, 'api.default.svc.cluster.local'), 'NXDOMAIN');
    link.setService({ namespace: 'default', name: 'db', clusterIP: '10.96.0.41', ports: [] });
    assert.equal(await until(() => answer(proc.server.port, 'db.default.svc.cluster.local'), '10.96.0.41'), '10.96.0.41');
    await link.close();
    // the agent is gone: still answering
    assert.equal(await until(() => proc.attached(), false), false);
    assert.equal(await answer(proc.server.port, 'db.default.svc.cluster.local'), '10.96.0.41');
  });

  it('a link whose snapshot the process keeps refusing backs off instead of resending it in a loop', async () => {
    const view = new MemoryServiceView();
    // more ports than the feed takes (the API refuses them, but the link must not loop on anything refused)
    view.setService({ namespace: 'default', name: 'big', clusterIP: '10.96.0.50', ports: Array.from({ length: 300 }, (_, i) => ({ name: `p${i}`, port: i + 1, protocol: 'TCP' as const })) });
    let attached = 0;
    const logger = pino({ level: 'info' }, new Writable({ write(chunk: Buffer, _enc, done) { if (chunk.toString().includes('attached to the node DNS process')) attached++; done(); } }));
    const link = new DnsProcessLink({ settings: settings(), dir: pdir, view, allow: () => ['10.244.0.0/16'], logger, command: ['/bin/false'] });
    await link.start();
    link.markSynced();
    await new Promise((r) => setTimeout(r, 1600));
    await link.close();
    // dropped at once each time: attached at 0, then after 0.5 s and 1 s of back-off (without it: thousands of times)
    assert.ok(attached >= 1 && attached <= 4, `attached ${attached} times in 1.6 s`);
  });
});

describe('the DNS process started by the link (corelet dns-server)', () => {
  const main = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
  const command = [process.execPath, main, 'dns-server'];

  it('starts one detached when none runs, re-attaches to it after a restart, ignores a stale pidfile, stops it', async () => {
    const pdir = join(dir, 'spawned');
    const settings: DnsProcessSettings = { host: '127.0.0.1', port: 0, clusterDomain: ZONE, resolvConf };
    // a stale pidfile naming a live process that is not a DNS process (this test runner)
    await rm(pdir, { recursive: true, force: true });
    const { mkdir } = await import('node:fs/promises');
    await mkdir(pdir, { recursive: true, mode: 0o700 });
    await writeFile(join(pdir, 'dns.pid'), `${process.pid}\n`);
    assert.equal(runningDnsPid(pdir), undefined);
    const first = new DnsProcessLink({ settings, dir: pdir, view: new MemoryServiceView(), allow: () => [], logger: silentLogger, command });
    let pid: number | undefined;
    try {
      await first.start();
      pid = first.pid;
      assert.ok(pid !== undefined && pid !== process.pid);
      assert.equal(runningDnsPid(pdir), pid);
      await first.close();
      // "the agent restarted": a new link finds the same process
      const second = new DnsProcessLink({ settings, dir: pdir, view: new MemoryServiceView(), allow: () => [], logger: silentLogger, command: ['/bin/false'] });
      await second.start();
      assert.equal(second.pid, pid);
      await second.close();
      // other settings: replaced by a new process
      const third = new DnsProcessLink({ settings: { ...settings, clusterDomain: 'other.local' }, dir: pdir, view: new MemoryServiceView(), allow: () => [], logger: silentLogger, command });
      await third.start();
      assert.notEqual(third.pid, pid);
      assert.ok(!existsSync(`/proc/${pid}/cmdline`) || !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('dns-server'), 'the old one is gone');
      pid = third.pid;
      await third.close();
    } finally {
      assert.equal(await stopDnsProcess(pdir, silentLogger), true);
    }
    assert.equal(runningDnsPid(pdir), undefined);
    assert.equal(await stopDnsProcess(pdir, silentLogger), false);
  });

  it('starts a new one when the DNS process dies under an attached agent (kill -9)', async () => {
    const pdir = join(dir, 'crash');
    const settings: DnsProcessSettings = { host: '127.0.0.1', port: 0, clusterDomain: ZONE, resolvConf };
    const link = new DnsProcessLink({ settings, dir: pdir, view: new MemoryServiceView(), allow: () => [], logger: silentLogger, command });
    try {
      await link.start();
      const first = link.pid!;
      process.kill(first, 'SIGKILL');
      const next = await until(() => (link.pid !== first && runningDnsPid(pdir) === link.pid ? link.pid : undefined) !== undefined, true, 1000);
      assert.equal(next, true, 'a new DNS process, attached');
    } finally {
      await link.close();
      await stopDnsProcess(pdir, silentLogger);
    }
  });

  it('does not kill a DNS process that accepted the connection but is slow to say hello; waits for it and logs why', async () => {
    const pdir = join(dir, 'slow');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(pdir, { recursive: true, mode: 0o700 });
    const settings: DnsProcessSettings = { host: '127.0.0.1', port: 0, clusterDomain: ZONE, resolvConf };
    // A stand-in DNS process (its command line names dns-server and the folder, it writes the
    // pidfile): it accepts feed connections at once but says hello only when the test tells it.
    const script = `
      const net = require('node:net'); const fs = require('node:fs');
      const [, dir, hello] = process.argv;
      const conns = [];
      net.createServer((c) => { conns.push(c); c.on('error', () => {}); }).listen(dir + '/dns.sock', () => {
        fs.writeFileSync(dir + '/dns.pid', process.pid + '\\n');
        process.stdout.write('listening\\n');
      });
      process.stdin.on('data', () => { for (const c of conns) c.write(JSON.stringify({ ...JSON.parse(hello), pid: process.pid }) + '\\n'); });
    `;
    const hello = JSON.stringify({ op: 'hello', protocol: FEED_PROTOCOL, build: dnsBuildId(), pid: 0, settings });
    const child = spawn(process.execPath, ['-e', script, pdir, hello, 'dns-server'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      await new Promise<void>((r) => child.stdout.once('data', () => r()));
      assert.equal(runningDnsPid(pdir), child.pid);
      const warnings: string[] = [];
      const logger = pino({ level: 'warn' }, {
        write: (line: string) => {
          const msg = (JSON.parse(line) as { msg: string }).msg;
          warnings.push(msg);
          if (/has not said hello yet/.test(msg)) child.stdin.write('hello now\n'); // the busy process catches up
        },
      });
      const link = new DnsProcessLink({ settings, dir: pdir, view: new MemoryServiceView(), allow: () => [], logger, command: ['/bin/false'] });
      try {
        await link.start();
        assert.equal(link.pid, child.pid, 'attached to the slow process');
        assert.equal(child.exitCode, null);
        assert.equal(child.signalCode, null, 'not killed');
        assert.ok(warnings.some((w) => /accepted the connection but has not said hello yet/.test(w)), warnings.join('; '));
      } finally {
        await link.close();
      }
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  });

  it('starts it in a transient systemd scope of its own when systemd runs the host (outside the agent unit), detached when systemd-run fails', async () => {
    const { mkdir, chmod } = await import('node:fs/promises');
    const bin = join(dir, 'fake-systemd');
    await mkdir(bin, { recursive: true });
    // a stand-in systemd-run: records its arguments, then execs the command after `--` (as --scope does)
    const calls = join(bin, 'calls');
    const fake = join(bin, 'systemd-run');
    await writeFile(fake, `#!/bin/sh\necho "$*" >> '${calls}'\nwhile [ "$1" != "--" ]; do shift; done\nshift\nexec "$@"\n`);
    await chmod(fake, 0o755);
    const refusing = join(bin, 'systemd-run-refusing');
    await writeFile(refusing, '#!/bin/sh\necho "Failed to start transient scope unit: Access denied" >&2\nexit 1\n');
    await chmod(refusing, 0o755);
    const settings: DnsProcessSettings = { host: '127.0.0.1', port: 0, clusterDomain: ZONE, resolvConf };

    const pdir = join(dir, 'scoped');
    const link = new DnsProcessLink({ settings, dir: pdir, view: new MemoryServiceView(), allow: () => [], logger: silentLogger, command, systemdRun: fake });
    try {
      await link.start();
      const args = readFileSync(calls, 'utf8').trim();
      assert.match(args, /^--scope --quiet --collect --unit=corelet-dns-\d+-\d+ --description=corelet node DNS \(.*scoped\) -- /);
      assert.match(args, / dns-server --dir \S*scoped /);
      assert.equal(runningDnsPid(pdir), link.pid, 'the scope runs the DNS process itself (systemd-run execs it: same pid)');
    } finally {
      await link.close();
      await stopDnsProcess(pdir, silentLogger);
    }

    const pdir2 = join(dir, 'scope-refused');
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push((JSON.parse(line) as { msg: string }).msg) });
    const link2 = new DnsProcessLink({ settings, dir: pdir2, view: new MemoryServiceView(), allow: () => [], logger, command, systemdRun: refusing });
    try {
      await link2.start();
      assert.equal(runningDnsPid(pdir2), link2.pid, 'started detached instead');
      assert.ok(warnings.some((w) => /systemd scope failed; starting it as a plain detached child/.test(w)), warnings.join('; '));
    } finally {
      await link2.close();
      await stopDnsProcess(pdir2, silentLogger);
    }
  });

  it('replacing a process that ignores shutdown kills only the DNS process of the pidfile, never a pid its hello merely names', async () => {
    const pdir = join(dir, 'lying');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(pdir, { recursive: true, mode: 0o700 });
    const innocent = spawn('sleep', ['600'], { stdio: 'ignore' });
    const innocentGone = new Promise<void>((r) => innocent.once('exit', () => r()));
    // a process of another build on the socket: it ignores `shutdown` and its hello names the innocent pid
    const script = `
      const net = require('node:net');
      const [, dir, hello] = process.argv;
      net.createServer((c) => { c.on('error', () => {}); c.write(hello + '\\n'); }).listen(dir + '/dns.sock', () => process.stdout.write('listening\\n'));
    `;
    const settings: DnsProcessSettings = { host: '127.0.0.1', port: 0, clusterDomain: ZONE, resolvConf };
    const hello = JSON.stringify({ op: 'hello', protocol: FEED_PROTOCOL, build: 'an-older-build', pid: innocent.pid, settings });
    const liar = spawn(process.execPath, ['-e', script, pdir, hello], { stdio: ['ignore', 'pipe', 'inherit'] });
    const liarGone = new Promise<void>((r) => liar.once('exit', () => r()));
    try {
      await new Promise<void>((r) => liar.stdout.once('data', () => r()));
      const link = new DnsProcessLink({ settings, dir: pdir, view: new MemoryServiceView(), allow: () => [], logger: silentLogger, command: ['/bin/false'] });
      await link.start().catch(() => undefined); // whatever it attaches to next: what matters is what it killed
      await link.close();
      assert.equal(innocent.exitCode, null);
      assert.equal(innocent.signalCode, null, 'the pid named by the hello was not killed');
    } finally {
      innocent.kill('SIGKILL');
      liar.kill('SIGKILL');
      await Promise.all([innocentGone, liarGone]);
    }
  });

  it('reports why a DNS process cannot start (its log)', async () => {
    const pdir = join(dir, 'broken');
    const link = new DnsProcessLink({
      settings: { host: '127.0.0.1', port: 0, clusterDomain: ZONE, resolvConf: join(dir, 'missing.conf') },
      dir: pdir,
      view: new MemoryServiceView(),
      allow: () => [],
      logger: silentLogger,
      command,
    });
    await assert.rejects(link.start(), /node DNS process exited .*missing\.conf/s);
    await link.close();
  });
});
