/**
 * persistentLocal (corelet's stand-in for a PersistentVolumeClaim) is set only by the StatefulSet
 * controller: a pod author in namespace team cannot name claim data-db-0 of StatefulSet prod/db
 * (or any claim) through the API, in a pod or a pod template, at any Pod Security level. The
 * controller's own pods still get their claims.
 */
import { before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Pki } from '../../../src/scheduler/auth/index.js';
import { reconcileAll } from '../../../src/scheduler/controllers/index.js';
import type { Store } from '../../../src/scheduler/store/index.js';
import { tempStore } from './store-helpers.js';
import { api, makePki, makeTokens, patch, startApiServer } from './server-helpers.js';

const RESTRICTED_SC = `  securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: RuntimeDefault } }`;
const RESTRICTED_CONTAINER = `      securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: [ALL] } }`;

function namespaceYaml(name: string, level: string): string {
  return `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n  labels:\n    pod-security.kubernetes.io/enforce: ${level}\n`;
}

/** The reviewer's pod: a plain restricted pod naming prod/db's claim. */
const THIEF_POD = `apiVersion: v1
kind: Pod
metadata: { name: thief, namespace: team }
spec:
${RESTRICTED_SC}
  containers:
    - name: app
      image: busybox
${RESTRICTED_CONTAINER}
      volumeMounts: [{ name: v, mountPath: /data }]
  volumes:
    - name: v
      persistentLocal: { claimName: data-db-0 }
`;

function statefulSet(ns: string, templateVolumes = ''): string {
  return `apiVersion: apps/v1
kind: StatefulSet
metadata: { name: db, namespace: ${ns} }
spec:
  selector: { matchLabels: { app: db } }
  serviceName: db
  replicas: 1
  template:
    metadata: { labels: { app: db } }
    spec:
    ${RESTRICTED_SC}
      containers:
        - name: app
          image: busybox
    ${RESTRICTED_CONTAINER}
          volumeMounts: [{ name: data, mountPath: /data }]
${templateVolumes}  volumeClaimTemplates:
    - metadata: { name: data }
      spec: { accessModes: [ReadWriteOnce], resources: { requests: { storage: 1Gi } } }
`;
}

const FORBIDDEN = /may not be set through the API: only the StatefulSet controller sets it/;

describe('persistentLocal is not writable through the API', () => {
  let pki: Pki;
  const tokens = makeTokens();
  before(async () => {
    pki = await makePki();
  });

  async function setup(t: TestContext): Promise<{ store: Store; server: { url: string }; call: (method: string, path: string, body?: string) => ReturnType<typeof api> }> {
    const { store } = tempStore(t);
    const server = await startApiServer(t, store, pki, tokens.lookup);
    const call = (method: string, path: string, body?: string) => api(server, pki, method, path, { token: tokens.api, body });
    for (const [ns, level] of [['prod', 'restricted'], ['team', 'restricted'], ['ops', 'privileged']]) {
      assert.equal((await call('POST', '/api/v1/apply', namespaceYaml(ns, level))).status, 200);
    }
    return { store, server, call };
  }

  it("a pod in team naming prod/db's claim is refused (create and apply, restricted and privileged), naming the field", async (t) => {
    const { store, call } = await setup(t);
    const created = await call('POST', '/api/v1/namespaces/team/pods', THIEF_POD);
    assert.equal(created.status, 400, created.text);
    assert.match(created.body.message, /^Pod "team\/thief": spec\.volumes\[0\]\.persistentLocal: may not be set through the API/);
    const applied = await call('POST', '/api/v1/apply', THIEF_POD);
    assert.equal(applied.status, 400, applied.text);
    assert.match(applied.body.message, /spec\.volumes\[0\]\.persistentLocal: /);
    const privileged = await call('POST', '/api/v1/namespaces/ops/pods', THIEF_POD.replace('namespace: team', 'namespace: ops'));
    assert.equal(privileged.status, 400, 'not a Pod Security question: nobody may write it');
    assert.match(privileged.body.message, FORBIDDEN);
    assert.deepEqual(store.list('Pod'), [], 'nothing was written');
  });

  it('a pod template with persistentLocal is refused (apply and patch); volumeClaimTemplates still work', async (t) => {
    const { store, server, call } = await setup(t);
    const sneaky = await call('POST', '/api/v1/apply', statefulSet('team', '      volumes:\n        - name: other\n          persistentLocal: { claimName: data-db-0 }\n'));
    assert.equal(sneaky.status, 400, sneaky.text);
    assert.match(sneaky.body.message, /spec\.template\.spec\.volumes\[0\]\.persistentLocal: may not be set through the API/);

    const ok = await call('POST', '/api/v1/apply', statefulSet('prod'));
    assert.equal(ok.status, 200, ok.text);
    const patched = await patch(server, pki, '/api/v1/namespaces/prod/statefulsets/db', tokens.api, {
      spec: { template: { spec: { volumes: [{ name: 'x', persistentLocal: { claimName: 'data-db-1' } }] } } },
    });
    assert.equal(patched.status, 400, patched.text);
    assert.match(patched.body.message, /spec\.template\.spec\.volumes\[0\]\.persistentLocal: /);

    // The controller writes its pods to the store: db-0 gets its claim, under restricted.
    reconcileAll(store, new Date());
    const pod = store.get<any>('Pod', 'prod', 'db-0');
    assert.deepEqual(pod?.spec.volumes, [{ name: 'data', persistentLocal: { claimName: 'data-db-0' } }]);

    // Re-applying the controller's pod (a label change) keeps the claim it already has...
    const manifest = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'db-0', namespace: 'prod', labels: { ...pod.metadata.labels, tier: 'data' } }, spec: pod.spec });
    const relabelled = await call('POST', '/api/v1/apply', manifest);
    assert.equal(relabelled.status, 200, relabelled.text);
    // ...but cannot point it at another claim.
    const moved = JSON.parse(manifest);
    moved.spec.volumes[0].persistentLocal.claimName = 'data-db-1';
    const refused = await call('POST', '/api/v1/apply', JSON.stringify(moved));
    assert.equal(refused.status, 400, refused.text);
    assert.match(refused.body.message, /spec\.volumes\[0\]\.persistentLocal: /);
    assert.equal(store.get<any>('Pod', 'prod', 'db-0')?.spec.volumes[0].persistentLocal.claimName, 'data-db-0');
  });
});
