import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from '../../../src/api/index.js';
import { tempStore } from './store-helpers.js';

test('create clears a user-set deletionTimestamp and deletionGracePeriodSeconds (a new pod is never Terminating from birth)', (t) => {
  const { store } = tempStore(t);
  const created = store.create('Pod', {
    metadata: { name: 'born-dying', namespace: 'default', deletionTimestamp: '2026-01-01T00:00:00Z', deletionGracePeriodSeconds: 30 },
    spec: { containers: [{ name: 'c', image: 'busybox' }] },
  }) as unknown as Pod;
  assert.equal(created.metadata.deletionTimestamp, undefined);
  assert.equal(created.metadata.deletionGracePeriodSeconds, undefined);
  const stored = store.get<Pod>('Pod', 'default', 'born-dying')!;
  assert.equal('deletionTimestamp' in stored.metadata, false);
  assert.equal('deletionGracePeriodSeconds' in stored.metadata, false);
});
