import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { isKind } from '../../../src/lib/index.js';
import type { Pod } from '../../../src/api/index.js';
import { Store } from '../../../src/scheduler/store/index.js';
import { tempDir, pod, deployment } from './store-helpers.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'store-child.js');

/** Runs the child script; calls onLine for each complete stdout line; resolves with all of them. */
async function runChild(args: string[], onLine: (line: string, child: ChildProcess) => void = () => {}) {
  const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? ''; // a line cut by the kill was not reported as committed
    for (const line of parts) {
      lines.push(line);
      onLine(line, child);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  return { lines, code, signal, stderr };
}

test('a closed and reopened store keeps objects, bindings, events, settings and its resourceVersion', (t) => {
  const path = join(tempDir(t), 'scheduler.db');
  const first = Store.open(path);
  const created = first.create('Pod', pod('web', 'default', { app: 'web' }));
  first.create('Node', { metadata: { name: 'node-a' } });
  first.create('Deployment', deployment('web', 3));
  first.bindPod('default', 'web', 'node-a');
  first.recordEvent({
    type: 'Normal',
    reason: 'Scheduled',
    message: 'assigned default/web to node-a',
    involvedObject: { kind: 'Pod', namespace: 'default', name: 'web', uid: created.metadata.uid },
    firstTimestamp: '2026-01-01T00:00:00Z',
    lastTimestamp: '2026-01-01T00:00:00Z',
    count: 1,
  });
  first.setMeta('ca_cert_path', '/var/lib/corelet/ca.crt');
  const before = { pods: first.list('Pod'), nodes: first.list('Node'), deployments: first.list('Deployment'), events: first.listEvents() };
  first.close();
  first.close(); // harmless

  const second = Store.open(path);
  t.after(() => second.close());
  assert.deepEqual({ pods: second.list('Pod'), nodes: second.list('Node'), deployments: second.list('Deployment'), events: second.listEvents() }, before);
  assert.deepEqual(second.list('Pod', { nodeName: 'node-a' }).map((p) => p.metadata.name), ['web']);
  assert.equal(second.getMeta('ca_cert_path'), '/var/lib/corelet/ca.crt');
  assert.equal(second.resourceVersion(), '4');
  assert.equal(second.create('Pod', pod('next')).metadata.resourceVersion, '5', 'resourceVersions continue, never reused');
  assert.throws(() => second.bindPod('default', 'web', 'node-b'), (e) => isKind(e, 'FailedPrecondition'));
});

test('the store runs in WAL mode with synchronous=FULL unless told otherwise', (t) => {
  const dir = tempDir(t);
  const store = Store.open(join(dir, 'a.db'));
  t.after(() => store.close());
  assert.deepEqual(store.diagnostics(), { path: join(dir, 'a.db'), journalMode: 'wal', synchronous: 'FULL', schemaVersion: 2, resourceVersion: '0' });
  const relaxed = Store.open(join(dir, 'b.db'), { synchronous: 'NORMAL' });
  t.after(() => relaxed.close());
  assert.equal(relaxed.diagnostics().synchronous, 'NORMAL');
});

test('a store written by a newer schema is refused, not misread', (t) => {
  const path = join(tempDir(t), 'scheduler.db');
  Store.open(path).close();
  const db = new Database(path);
  db.prepare("UPDATE meta SET value = '99' WHERE key = 'schema_version'").run();
  db.close();
  assert.throws(() => Store.open(path), (e) => isKind(e, 'FailedPrecondition') && /schema version 99; this corelet understands up to 2/.test(String(e)));
});

/** Kills a writing child three times and checks that every write it reported survived. */
async function killedWriterLosesNothing(t: TestContext, synchronous: 'FULL' | 'NORMAL'): Promise<void> {
  const path = join(tempDir(t), 'scheduler.db');
  const setup = Store.open(path);
  setup.create('Deployment', deployment('counter'));
  setup.close();

  for (const round of ['r1', 'r2', 'r3']) {
    let counters = 0;
    const run = await runChild(['write', path, round, synchronous], (line, child) => {
      // Kill at an arbitrary point of the loop once it has done a few hundred writes.
      if (line.startsWith('counter ') && ++counters === 150) child.kill('SIGKILL');
    });
    assert.equal(run.signal, 'SIGKILL', `child should have been killed (stderr: ${run.stderr})`);

    const created = new Map<string, number>();
    const bound = new Map<string, string>();
    let lastCounter = -1;
    let maxRv = 0;
    for (const line of run.lines) {
      const [what, ...f] = line.split(' ');
      if (what === 'created') created.set(f[0], Number(f[1]));
      if (what === 'bound') bound.set(f[0], f[1]);
      if (what === 'counter') lastCounter = Number(f[1]);
      if (what !== 'ready') maxRv = Math.max(maxRv, Number(f.at(-1)));
    }
    assert.ok(bound.size >= 150, `round ${round}: child reported ${bound.size} bindings`);

    const db = new Database(path, { readonly: true });
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    db.close();

    const store = Store.open(path);
    try {
      assert.ok(Number(store.resourceVersion()) >= maxRv, `round ${round}: resourceVersion ${store.resourceVersion()} < reported ${maxRv}`);
      for (const [name, rv] of created) {
        const p = store.get<Pod>('Pod', 'default', name);
        assert.ok(p, `round ${round}: pod ${name} reported created at ${rv} is missing`);
        assert.ok(Number(p.metadata.resourceVersion) >= rv);
      }
      for (const [name, node] of bound) {
        assert.equal(store.get<Pod>('Pod', 'default', name)?.spec.nodeName, node, `round ${round}: binding of ${name} lost`);
      }
      const onNodes = new Set(['node-0', 'node-1', 'node-2'].flatMap((n) => store.list('Pod', { nodeName: n }).map((p) => p.metadata.name)));
      for (const name of bound.keys()) assert.ok(onNodes.has(name), `round ${round}: ${name} not listed on its node`);
      const counter = store.get('Deployment', 'default', 'counter');
      assert.ok(Number(counter?.metadata.annotations[`${round}/i`]) >= lastCounter, `round ${round}: counter update lost`);
    } finally {
      store.close();
    }
  }
}

test('a writer killed with SIGKILL loses nothing it reported as committed', (t) => killedWriterLosesNothing(t, 'FULL'));

// What the scheduler daemon runs with: a commit is in the WAL (the OS's page cache) when it returns,
// so a killed process loses nothing; only a power cut can take the last commits.
test('with synchronous=NORMAL too, a writer killed with SIGKILL loses nothing it reported as committed', (t) =>
  killedWriterLosesNothing(t, 'NORMAL'));

test('two processes binding the same pods: each pod is bound exactly once', async (t) => {
  const path = join(tempDir(t), 'scheduler.db');
  const store = Store.open(path);
  t.after(() => store.close());
  const count = 150;
  store.transaction(() => {
    for (let i = 0; i < count; i++) store.create('Pod', pod(`race-${i}`));
  });

  // Both children open the store and say ready; then both are told to go at once.
  const racers: ChildProcess[] = [];
  const go = (line: string, child: ChildProcess) => {
    if (line === 'ready' && racers.push(child) === 2) for (const r of racers) r.stdin?.end('go\n');
  };
  const [x, y] = await Promise.all([runChild(['race', path, 'node-x', String(count)], go), runChild(['race', path, 'node-y', String(count)], go)]);
  assert.equal(x.code, 0, x.stderr);
  assert.equal(y.code, 0, y.stderr);
  for (let i = 0; i < count; i++) {
    const name = `race-${i}`;
    const xWon = x.lines.includes(`won ${name}`);
    const yWon = y.lines.includes(`won ${name}`);
    assert.ok(xWon !== yWon, `${name}: exactly one binder must win (x: ${xWon}, y: ${yWon})`);
    assert.ok(x.lines.includes(`${xWon ? 'won' : 'lost'} ${name}`) && y.lines.includes(`${yWon ? 'won' : 'lost'} ${name}`));
    assert.equal(store.get<Pod>('Pod', 'default', name)?.spec.nodeName, xWon ? 'node-x' : 'node-y');
  }
});
