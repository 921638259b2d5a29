import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HELPER_MAX_FIELD_BYTES, HELPER_MAX_FIELDS, HostHelper, type HostHelperOptions, HostOpError, MNT_DETACH, MS, mountOptions } from '../../../src/runtime/host-helper.js';
import { isKind, silentLogger } from '../../../src/lib/index.js';

test('mount options: the flag words become MS_* bits, the rest stays data; words mount(8) treats itself are refused', () => {
  assert.deepEqual(mountOptions('mode=1777,size=65536k,nosuid,nodev,noexec'), { flags: MS.NOSUID | MS.NODEV | MS.NOEXEC, data: 'mode=1777,size=65536k' });
  assert.deepEqual(mountOptions('ro,rw,defaults'), { flags: 0, data: '' });
  assert.deepEqual(mountOptions('ro,relatime'), { flags: MS.RDONLY | MS.RELATIME, data: '' });
  for (const special of ['bind', 'loop', 'size=1m,user', 'x-mount.mkdir=0755', 'noswap']) assert.equal(mountOptions(special), undefined, special);
});

/**
 * A stand-in for `corelet-io serve` (node, same protocol): records every request without its id (as
 * JSON lines in LOG), answers "ID ok", "ID err 22 ..." for a target named "bad", exits for a target
 * named "die", never answers one named "hang" (nor anything after one named "freeze"); an exec answers exit 3 with the request's fields as stdout and "é\n" as stderr.
 */
const FAKE = `#!${process.execPath}
const { appendFileSync } = require('node:fs');
let buf = Buffer.alloc(0);
let frozen = false;
process.stdin.on('data', (d) => {
  buf = Buffer.concat([buf, d]);
  for (;;) {
    const nl = buf.indexOf(10);
    if (nl < 0) return;
    const n = Number(buf.subarray(0, nl).toString());
    let at = nl + 1;
    const fields = [];
    for (let i = 0; i < n; i++) {
      const colon = buf.indexOf(58, at);
      if (colon < 0) return;
      const len = Number(buf.subarray(at, colon).toString());
      if (buf.length < colon + 1 + len + 1) return;
      fields.push(buf.subarray(colon + 1, colon + 1 + len).toString());
      at = colon + 1 + len + 1;
    }
    buf = buf.subarray(at);
    const [id, ...rest] = fields;
    appendFileSync(process.env.LOG, JSON.stringify(rest) + '\\n');
    if (rest[1] === 'die') process.exit(3);
    if (rest[1] === 'freeze') frozen = true;
    if (rest[1] === 'hang' || frozen) continue;
    if (rest[0] === 'exec') {
      const out = Buffer.from(JSON.stringify(rest) + '\\n');
      const err = Buffer.from('é\\n');
      process.stdout.write(Buffer.concat([Buffer.from(id + ' exec 3 0 0 ' + out.length + ' ' + err.length + '\\n'), out, err]));
      continue;
    }
    if (rest[1] === 'odd') {
      process.stdout.write(id + ' err 2 odd\\u2028name\\r: No such file or directory\\n');
      continue;
    }
    process.stdout.write(rest[1] === 'bad' ? id + ' err 22 bad: not mounted\\n' : id + ' ok\\n');
  }
});
`;

async function fakeHelper(t: { after(fn: () => Promise<void>): void }, opts: HostHelperOptions = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-host-helper-'));
  const path = join(dir, 'corelet-io');
  const log = join(dir, 'requests.log');
  await writeFile(path, FAKE);
  await chmod(path, 0o755);
  await writeFile(log, '');
  const saved = process.env.LOG;
  process.env.LOG = log; // the helper inherits the daemon's environment
  const helper = HostHelper.at(path, silentLogger, opts)!;
  t.after(async () => {
    helper.close();
    if (saved === undefined) delete process.env.LOG;
    else process.env.LOG = saved;
    await rm(dir, { recursive: true, force: true });
  });
  const requests = async () =>
    (await readFile(log, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as string[]);
  return { helper, requests };
}

test('requests reach the helper field by field (any byte but NUL) and are answered in order', async (t) => {
  const { helper, requests } = await fakeHelper(t);
  const odd = '/tmp/a dir,with:odd\nname';
  await Promise.all([helper.mount('shm', odd, 'tmpfs', MS.NOSUID, 'size=1k'), helper.umount('/x', MNT_DETACH), helper.netns('/run/netns/n', '/p/ipc', undefined)]);
  assert.deepEqual(await requests(), [
    ['mount', 'shm', odd, 'tmpfs', '2', 'size=1k'],
    ['umount', '/x', '2'],
    ['netns', '/run/netns/n', '/p/ipc', ''],
  ]);
  await assert.rejects(helper.umount('with\0nul', 0), /NUL/);
});

test('an exec comes back with its exit code and both outputs as bytes, whatever arrives between', async (t) => {
  const { helper } = await fakeHelper(t);
  const [a, , b] = await Promise.all([
    helper.exec('/usr/lib/cni/bridge', [], { input: '{"cniVersion":"1.0.0"}', env: { CNI_COMMAND: 'ADD' }, timeoutMs: 5000 }),
    helper.umount('/y', 0),
    helper.exec('runc', ['--root', '/run/r', 'start', 'id']),
  ]);
  assert.equal(a.exitCode, 3);
  assert.equal(a.timedOut, false);
  assert.equal(a.stderr.toString(), 'é\n');
  assert.deepEqual(JSON.parse(a.stdout.toString()), ['exec', '/usr/lib/cni/bridge', '5000', '1', '{"cniVersion":"1.0.0"}', '1', 'CNI_COMMAND=ADD', '/usr/lib/cni/bridge']);
  assert.deepEqual(JSON.parse(b.stdout.toString()), ['exec', 'runc', '0', '0', '', '-1', 'runc', '--root', '/run/r', 'start', 'id']);
});

test('a failure comes back with its errno and message; a helper that dies fails what it held and is started again', async (t) => {
  const { helper } = await fakeHelper(t);
  await assert.rejects(helper.umount('bad', 0), (e: unknown) => e instanceof HostOpError && e.errno === 22 && /not mounted/.test(e.message));
  await assert.rejects(helper.umount('die', 0), /host helper ended \(exit 3\)/);
  await helper.umount('/after', 0);
});

test('a request over the helper\'s limits (a field over 1 MiB, too many fields) is refused alone, before it is sent; the others go on', async (t) => {
  const { helper, requests } = await fakeHelper(t);
  const huge = 'K8S_POD_NAME=' + 'p'.repeat(HELPER_MAX_FIELD_BYTES);
  const many = Object.fromEntries(Array.from({ length: HELPER_MAX_FIELDS }, (_, i) => [`V${i}`, 'x']));
  const [big, wide, other] = await Promise.allSettled([
    helper.exec('/usr/lib/cni/bridge', [], { env: { CNI_ARGS: huge } }),
    helper.exec('/usr/lib/cni/bridge', [], { env: many }),
    helper.exec('runc', ['start', 'id']),
  ]);
  assert.ok(big.status === 'rejected' && isKind(big.reason, 'InvalidArgument') && /over the host helper's limit/.test(String(big.reason)), String(big.status === 'rejected' && big.reason));
  assert.ok(wide.status === 'rejected' && isKind(wide.reason, 'InvalidArgument'), 'too many fields');
  assert.ok(other.status === 'fulfilled' && other.value.exitCode === 3);
  assert.deepEqual((await requests()).map((r) => r[1]), ['runc']);
});

test('a request with no answer in time fails DeadlineExceeded; a helper that still answers is kept, a stuck one is killed and the next request gets a new one', async (t) => {
  const { helper, requests } = await fakeHelper(t, { opTimeoutMs: 200, graceMs: 200 });
  await helper.umount('/before', 0);
  const first = helper.pid;
  await assert.rejects(helper.umount('hang', 0), (e: unknown) => isKind(e, 'DeadlineExceeded') && /no answer from the host helper in 200 ms \(still running there\)/.test(String(e)));
  assert.equal(helper.pid, first, 'the helper answered the ping: kept');
  await assert.rejects(helper.umount('freeze', 0), (e: unknown) => isKind(e, 'DeadlineExceeded') && /the helper was killed/.test(String(e)));
  await helper.umount('/after', 0);
  assert.notEqual(helper.pid, first, 'a new helper');
  assert.deepEqual((await requests()).map((r) => r[0] === 'ping' ? 'ping' : r[1]), ['/before', 'hang', 'ping', 'freeze', 'ping', '/after']);
});

test('a corelet-io that is there but cannot run (a bad interpreter) is left out at start: the runtime spawns the programs itself', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-host-helper-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const broken = join(dir, 'corelet-io');
  await writeFile(broken, '#!/nonexistent/interpreter\n');
  await chmod(broken, 0o755);
  const errors: string[] = [];
  const logger = new Proxy(silentLogger, { get: (target, prop) => (prop === 'error' ? (_o: object, msg: string) => void errors.push(msg) : Reflect.get(target, prop)) });
  assert.equal(await HostHelper.started(broken, logger), undefined);
  assert.match(errors.join('\n'), /does not work: the runtime spawns/);
  const path = join(dir, 'works');
  await writeFile(path, FAKE);
  await chmod(path, 0o755);
  process.env.LOG = join(dir, 'log');
  t.after(() => void delete process.env.LOG);
  const works = await HostHelper.started(path, silentLogger);
  assert.ok(works, 'a helper that runs is kept');
  works.close();
});

test('an error message holding \\r or U+2028 (a path) keeps its errno', async (t) => {
  const { helper } = await fakeHelper(t);
  await assert.rejects(helper.umount('odd', 0), (e: unknown) => e instanceof HostOpError && e.errno === 2 && /No such file/.test(e.message));
});

test('no helper binary: none is used (the callers run mount(8), umount(8), unshare(1))', () => {
  assert.equal(HostHelper.at('/nonexistent/corelet-io', silentLogger), undefined);
});
