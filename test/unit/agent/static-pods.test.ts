/**
 * The static pod source: a manifest added, changed in place or removed adds, updates or removes its
 * pods (through the folder watcher or, should a notification be missed, the poll, which reads only
 * files whose stat changed); the same content written again reports nothing new.
 */
import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StaticPodSource } from '../../../src/agent/static-pods.js';
import type { Pod } from '../../../src/api/index.js';
import { silentLogger } from '../../../src/lib/index.js';

const DIR = mkdtempSync(join(tmpdir(), 'corelet-static-pods-'));
after(() => rmSync(DIR, { recursive: true, force: true }));

const manifest = (name: string, image: string) => `apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: default }
spec:
  containers: [{ name: app, image: ${image} }]
`;

/** Writes a manifest in one step (temp file + rename), as an editor or `corelet` would: no half-written file is ever read. */
async function put(file: string, text: string): Promise<void> {
  await writeFile(join(DIR, `.${file}.tmp`), text);
  await rename(join(DIR, `.${file}.tmp`), join(DIR, file));
}

async function until(what: () => boolean, label: string): Promise<void> {
  for (let i = 0; i < 2000 && !what(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(what(), label);
}

it('a manifest added, changed in place and removed adds, updates and removes its pod; rewriting the same content reports nothing', async () => {
  const reports: Pod[][] = [];
  const source = new StaticPodSource(DIR, (pods) => reports.push(pods), silentLogger, 20);
  await source.start();
  try {
    await until(() => reports.length === 1, 'the first scan reports the empty folder');
    assert.deepEqual(reports[0], []);
    await put('web.yaml', manifest('web', 'registry.test/web:1'));
    await until(() => reports.at(-1)?.[0]?.spec.containers[0]?.image === 'registry.test/web:1', 'the pod is added');
    await put('web.yaml', manifest('web', 'registry.test/web:2'));
    await until(() => reports.at(-1)?.[0]?.spec.containers[0]?.image === 'registry.test/web:2', 'the changed file updates the pod');
    const count = reports.length;
    await put('web.yaml', manifest('web', 'registry.test/web:2'));
    await new Promise((r) => setTimeout(r, 100)); // the watcher's scan and a few polls
    assert.equal(reports.length, count, 'the same content again is no change');
    await rm(join(DIR, 'web.yaml'));
    await until(() => reports.at(-1)?.length === 0, 'the removed file removes the pod');
  } finally {
    source.stop();
  }
});
