/** Shared fixtures for the scheduler store tests: temp stores and small objects. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { Store, type StoreOptions } from '../../../src/scheduler/store/index.js';

/** A fresh temp directory removed when the test ends. */
export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'corelet-sched-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A store in a fresh temp directory, closed and removed when the test ends. */
export function tempStore(t: TestContext, opts: StoreOptions = {}): { store: Store; path: string } {
  const path = join(tempDir(t), 'state', 'scheduler.db');
  const store = Store.open(path, opts);
  t.after(() => store.close());
  return { store, path };
}

/** A minimal pod manifest. */
export function pod(name: string, namespace = 'default', labels: Record<string, string> = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels },
    spec: { containers: [{ name: 'c', image: 'busybox' }] as unknown[], nodeName: undefined as string | undefined },
  };
}

/** A minimal deployment manifest. */
export function deployment(name: string, replicas = 1, namespace = 'default') {
  return {
    metadata: { name, namespace, labels: { app: name } },
    spec: { replicas, selector: { matchLabels: { app: name } } },
  };
}
