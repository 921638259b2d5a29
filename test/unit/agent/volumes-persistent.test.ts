/**
 * Persistent local volumes are kept per namespace on the node: StatefulSets prod/db and team/db
 * both have claim data-db-0, and their pods must not share one folder. Folders of the old layout
 * (ROOT/persistent/<claim>) go to the first pod that uses the claim.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VolumeManager } from '../../../src/agent/volumes.js';
import type { Pod } from '../../../src/api/index.js';
import { decodeObjects } from '../../../src/api/index.js';
import { isKind } from '../../../src/lib/index.js';
import type { MountPort } from '../../../src/host/index.js';
import { reconcileAll } from '../../../src/scheduler/controllers/index.js';
import { tempStore } from '../scheduler/store-helpers.js';

const noMounts: MountPort = {
  overlay: async () => assert.fail('no overlay expected'),
  tmpfs: async () => assert.fail('no tmpfs expected'),
  unmount: async () => undefined,
};

/** Ordinal 0 of StatefulSet `set` as the controller makes it, with volume data = claim `claimName`. */
function pod(namespace: string, claimName: string, set = 'db'): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${set}-0`,
      namespace,
      uid: `uid-${namespace}`,
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: set, uid: `set-${namespace}`, controller: true }],
    },
    spec: { volumes: [{ name: 'data', persistentLocal: { claimName } }], containers: [] },
  } as unknown as Pod;
}

/** A pod a user wrote with persistentLocal before the API refused it: no StatefulSet behind it. */
function userPod(namespace: string, claimName: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'thief', namespace, uid: 'uid-thief' },
    spec: { volumes: [{ name: 'v', persistentLocal: { claimName } }], containers: [] },
  } as unknown as Pod;
}

function tempRoot(t: { after: (fn: () => void) => void }): string {
  const root = mkdtempSync(join(tmpdir(), 'corelet-pvol-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

test('two namespaces with the same claim name on one node get different folders', async (t) => {
  const root = tempRoot(t);
  const vm = new VolumeManager(root, noMounts);
  const prod = (await vm.prepare(pod('prod', 'data-db-0'))).data;
  const team = (await vm.prepare(pod('team', 'data-db-0'))).data;
  assert.equal(prod, join(root, 'persistent', 'prod', 'data-db-0'));
  assert.equal(team, join(root, 'persistent', 'team', 'data-db-0'));
  writeFileSync(join(prod, 'secret'), 'prod data');
  assert.deepEqual(readdirSync(team), [], "team's pod does not see prod's data");
  // the same pod again (another start, another agent process) gets its data back
  assert.equal((await new VolumeManager(root, noMounts).prepare(pod('prod', 'data-db-0'))).data, prod);
  assert.equal(readFileSync(join(prod, 'secret'), 'utf8'), 'prod data');
});

test('a namespace or claim name that is a path is refused', async (t) => {
  const root = tempRoot(t);
  const vm = new VolumeManager(root, noMounts);
  const refused = (e: unknown) => isKind(e, 'InvalidArgument');
  await assert.rejects(vm.prepare(pod('..', 'data-db-0')), refused);
  await assert.rejects(vm.prepare(pod('prod', 'a/b')), refused);
  await assert.rejects(vm.prepare(pod('prod', '..')), refused);
  assert.equal(existsSync(join(root, 'persistent', 'prod', 'a')), false);
});

test('old-layout folders go to the namespace of the first StatefulSet pod that uses the claim; the others wait', async (t) => {
  const root = tempRoot(t);
  // the layout before namespaces: ROOT/persistent/<claim>
  mkdirSync(join(root, 'persistent', 'data-db-0'), { recursive: true });
  writeFileSync(join(root, 'persistent', 'data-db-0', 'rows'), 'kept');
  mkdirSync(join(root, 'persistent', 'data-web-1'), { recursive: true });
  writeFileSync(join(root, 'persistent', 'data-web-1', 'rows'), 'web');

  const vm = new VolumeManager(root, noMounts);
  // a user's pod from before the API refused persistentLocal does not get the old data
  const thief = (await vm.prepare(userPod('team', 'data-db-0'))).v;
  assert.equal(thief, join(root, 'persistent', 'team', 'data-db-0'));
  assert.deepEqual(readdirSync(thief), []);
  assert.equal(readFileSync(join(root, 'persistent', '.unclaimed', 'data-db-0', 'rows'), 'utf8'), 'kept');

  const prod = (await vm.prepare(pod('prod', 'data-db-0'))).data;
  assert.equal(prod, join(root, 'persistent', 'prod', 'data-db-0'));
  assert.equal(readFileSync(join(prod, 'rows'), 'utf8'), 'kept', 'the data moved with the claim');
  assert.equal(existsSync(join(root, 'persistent', 'data-db-0')), false);

  // another namespace's StatefulSet claim of the same name now starts empty: the old folder is taken
  assert.deepEqual(readdirSync((await vm.prepare(pod('shop', 'data-db-0'))).data), []);

  // an unused old folder waits (not deleted, not mistaken for a namespace) across restarts
  const again = new VolumeManager(root, noMounts);
  assert.equal(readFileSync(join(root, 'persistent', '.unclaimed', 'data-web-1', 'rows'), 'utf8'), 'web');
  const web1 = pod('shop', 'data-web-1', 'web');
  web1.metadata.name = 'web-1';
  const web = (await again.prepare(web1)).data;
  assert.equal(web, join(root, 'persistent', 'shop', 'data-web-1'));
  assert.equal(readFileSync(join(web, 'rows'), 'utf8'), 'web');
  // the namespace folders made since are not moved by a new agent process
  assert.equal(readFileSync(join((await new VolumeManager(root, noMounts).prepare(pod('prod', 'data-db-0'))).data, 'rows'), 'utf8'), 'kept');
});

test("StatefulSets prod/db and team/db: their controller-made pods on one node get different folders (issue 10)", async (t) => {
  const { store } = tempStore(t);
  for (const ns of ['prod', 'team']) {
    const yaml = `apiVersion: apps/v1
kind: StatefulSet
metadata: { name: db, namespace: ${ns} }
spec:
  replicas: 1
  serviceName: db
  selector: { matchLabels: { app: db } }
  template:
    metadata: { labels: { app: db } }
    spec:
      containers: [{ name: c, image: busybox, volumeMounts: [{ name: data, mountPath: /data }] }]
  volumeClaimTemplates:
    - metadata: { name: data }
      spec: { accessModes: [ReadWriteOnce], resources: { requests: { storage: 1Gi } } }
`;
    store.create('StatefulSet', decodeObjects(yaml, 'test.yaml').objects[0] as never);
  }
  reconcileAll(store, new Date());
  const prodPod = store.get<Pod>('Pod', 'prod', 'db-0')!;
  const teamPod = store.get<Pod>('Pod', 'team', 'db-0')!;
  assert.equal(prodPod.spec.volumes[0]?.persistentLocal?.claimName, 'data-db-0');
  assert.equal(teamPod.spec.volumes[0]?.persistentLocal?.claimName, 'data-db-0', 'the same claim name in both namespaces');

  const root = tempRoot(t);
  const vm = new VolumeManager(root, noMounts);
  const prod = (await vm.prepare(prodPod)).data!;
  const team = (await vm.prepare(teamPod)).data!;
  assert.notEqual(prod, team);
  writeFileSync(join(prod, 'rows'), 'prod');
  assert.deepEqual(readdirSync(team), []);
});
