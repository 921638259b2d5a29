/**
 * A child process for the store durability tests (spawned with node, not a test itself).
 *   node store-child.js write <db> <prefix> [FULL|NORMAL]: forever creates Pod <prefix>-<i>, binds it to
 *     node-<i % 3> and sets Deployment "counter"'s annotation to i, printing each committed write on
 *     stdout; the store opened with that synchronous setting (default FULL).
 *   node store-child.js race <db> <node> <count>: prints "ready", waits for a line on stdin, then tries
 *     to bind pods race-0..race-<count-1> to <node>, printing "won <name>" or "lost <name>" for each.
 * Lines go out with writeSync after the write returned, so every printed line is already committed.
 */
import { writeSync } from 'node:fs';
import { Store } from '../../../src/scheduler/store/index.js';
import { isKind } from '../../../src/lib/index.js';

/** Writes a whole line to stdout, a pipe the parent may read slowly: a full pipe (EAGAIN) is waited out. */
function say(line: string): void {
  let buf = Buffer.from(line + '\n');
  while (buf.length > 0) {
    try {
      buf = buf.subarray(writeSync(1, buf));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
    }
  }
}
const [mode, dbPath, ...rest] = process.argv.slice(2);

if (mode === 'write') {
  const [prefix, synchronous] = rest;
  const store = Store.open(dbPath, synchronous === 'NORMAL' ? { synchronous: 'NORMAL' } : {});
  say('ready');
  for (let i = 0; ; i++) {
    const name = `${prefix}-${i}`;
    const created = store.create('Pod', { metadata: { name, namespace: 'default' }, spec: { containers: [] } });
    say(`created ${name} ${created.metadata.resourceVersion}`);
    const node = `node-${i % 3}`;
    const bound = store.bindPod('default', name, node);
    say(`bound ${name} ${node} ${bound.metadata.resourceVersion}`);
    const counter = store.mutate('Deployment', 'default', 'counter', (d) => {
      d.metadata.annotations = { ...d.metadata.annotations, [`${prefix}/i`]: String(i) };
    });
    say(`counter ${prefix} ${i} ${counter.metadata.resourceVersion}`);
  }
} else if (mode === 'race') {
  const [node, count] = rest;
  const store = Store.open(dbPath);
  // Start only when the parent says so, so that both racers run at the same time.
  say('ready');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  process.stdin.destroy();
  for (let i = 0; i < Number(count); i++) {
    const name = `race-${i}`;
    try {
      store.bindPod('default', name, node);
      say(`won ${name}`);
    } catch (err) {
      if (!isKind(err, 'FailedPrecondition')) throw err;
      say(`lost ${name}`);
    }
  }
  store.close();
} else {
  process.stderr.write(`usage: store-child.js write|race <db> ...\n`);
  process.exit(2);
}
