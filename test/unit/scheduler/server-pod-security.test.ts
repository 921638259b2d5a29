/**
 * Namespaces and Pod Security admission through the real REST API (in-process server): the
 * namespace routes, NamespaceLifecycle, the three levels at apply/create, warnings for workloads
 * and the controllers' FailedCreate for a violating template.
 */
import { before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Pki } from '../../../src/scheduler/auth/index.js';
import { reconcileAll } from '../../../src/scheduler/controllers/index.js';
import type { Store } from '../../../src/scheduler/store/index.js';
import { tempStore } from './store-helpers.js';
import { addNode } from './controllers-helpers.js';
import { api, makePki, makeTokens, patch, podYaml, startApiServer } from './server-helpers.js';

const PRIVILEGED_POD = `apiVersion: v1
kind: Pod
metadata: { name: priv }
spec:
  containers:
    - name: app
      image: busybox
      securityContext: { privileged: true }
`;

const HOSTPATH_POD = `apiVersion: v1
kind: Pod
metadata: { name: hostpath }
spec:
  containers:
    - name: app
      image: busybox
      volumeMounts: [{ name: host, mountPath: /host }]
  volumes:
    - name: host
      hostPath: { path: /etc }
`;

function namespaceYaml(name: string, labels: Record<string, string> = {}): string {
  const l = Object.entries(labels).map(([k, v]) => `    ${k}: ${v}`).join('\n');
  return `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n${l ? `  labels:\n${l}\n` : ''}`;
}

const inNamespace = (yaml: string, ns: string) => yaml.replace(/^metadata: \{ name: (\S+) \}$/m, `metadata: { name: $1, namespace: ${ns} }`);

function workload(kind: 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Job', name: string, ns: string): string {
  const spec =
    kind === 'Job'
      ? ''
      : `  selector: { matchLabels: { app: ${name} } }\n${kind === 'DaemonSet' ? '' : '  replicas: 1\n'}${kind === 'StatefulSet' ? `  serviceName: ${name}\n` : ''}`;
  return `apiVersion: ${kind === 'Job' ? 'batch/v1' : 'apps/v1'}
kind: ${kind}
metadata: { name: ${name}, namespace: ${ns} }
spec:
${spec}  template:
    metadata: { labels: { app: ${name} } }
    spec:
      ${kind === 'Job' ? 'restartPolicy: Never\n      ' : ''}containers:
        - name: app
          image: busybox
          volumeMounts: [{ name: host, mountPath: /host }]
      volumes:
        - name: host
          hostPath: { path: /var/log }
`;
}

describe('namespaces and Pod Security admission (REST)', () => {
  let pki: Pki;
  const tokens = makeTokens();
  before(async () => {
    pki = await makePki();
  });

  async function setup(t: TestContext): Promise<{ store: Store; call: (method: string, path: string, body?: string) => ReturnType<typeof api>; server: { url: string } }> {
    const { store } = tempStore(t);
    const server = await startApiServer(t, store, pki, tokens.lookup);
    const call = (method: string, path: string, body?: string) => api(server, pki, method, path, { token: tokens.api, body });
    return { store, call, server };
  }

  it('serves Namespace objects: default and kube-system from the start, create, get, list, patch, delete', async (t) => {
    const { call, server } = await setup(t);
    const list = await call('GET', '/api/v1/namespaces');
    assert.equal(list.status, 200);
    assert.equal(list.body.kind, 'NamespaceList');
    assert.deepEqual(list.body.items.map((n: any) => `${n.metadata.name}:${n.status.phase}`), ['default:Active', 'kube-system:Active']);

    const created = await call('POST', '/api/v1/namespaces', namespaceYaml('team'));
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.metadata.namespace, '');
    assert.equal(created.body.status.phase, 'Active');
    assert.equal((await call('POST', '/api/v1/namespaces', namespaceYaml('team'))).status, 409);
    assert.equal((await call('GET', '/api/v1/namespaces/team')).body.metadata.name, 'team');
    const missing = await call('GET', '/api/v1/namespaces/nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.message, 'namespaces "nope" not found');

    const labelled = await patch(server, pki, '/api/v1/namespaces/team', tokens.api, { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } });
    assert.equal(labelled.status, 200, labelled.text);
    assert.equal(labelled.body.metadata.labels['pod-security.kubernetes.io/enforce'], 'restricted');
    assert.equal(labelled.body.status.phase, 'Active');
    const bad = await patch(server, pki, '/api/v1/namespaces/team', tokens.api, { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'strict' } } });
    assert.equal(bad.status, 422);
    assert.match(bad.body.message, /metadata\.labels\["pod-security\.kubernetes\.io\/enforce"\]: invalid value "strict": must be one of privileged, baseline, restricted/);
    const badCreate = await call('POST', '/api/v1/apply', namespaceYaml('other', { 'pod-security.kubernetes.io/enforce': 'lenient' }));
    assert.equal(badCreate.status, 422);
    assert.match(badCreate.body.message, /invalid value "lenient"/);

    const forbidden = await call('DELETE', '/api/v1/namespaces/kube-system');
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.body.reason, 'Forbidden');
    assert.equal((await call('DELETE', '/api/v1/namespaces/team')).status, 200);
    assert.equal((await call('DELETE', '/api/v1/namespaces/team')).status, 404);
  });

  it('a store from before Namespace objects gets one for every namespace its objects use', async (t) => {
    const { store } = tempStore(t);
    store.create('Pod', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'old', namespace: 'legacy' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
    const server = await startApiServer(t, store, pki, tokens.lookup);
    const list = await api(server, pki, 'GET', '/api/v1/namespaces', { token: tokens.api });
    assert.deepEqual(list.body.items.map((n: any) => n.metadata.name), ['default', 'kube-system', 'legacy']);
  });

  it('refuses objects in a namespace that does not exist; deleting a namespace deletes what is in it', async (t) => {
    const { store, call } = await setup(t);
    const early = await call('POST', '/api/v1/apply', inNamespace(podYaml('web').replace('name: web', 'name: web\n  namespace: team'), 'team'));
    assert.equal(early.status, 404);
    assert.equal(early.body.message, 'namespaces "team" not found');
    assert.deepEqual(store.list('Pod'), []);
    // A manifest may create the namespace and what goes in it, in order.
    const both = await call('POST', '/api/v1/apply', `${namespaceYaml('team')}---\n${podYaml('web').replace('name: web', 'name: web\n  namespace: team')}`);
    assert.equal(both.status, 200, both.text);
    assert.equal((await call('POST', '/api/v1/apply', workload('Deployment', 'front', 'team').replace(/hostPath: \{ path: \/var\/log \}/, 'emptyDir: {}'))).status, 200);
    reconcileAll(store, new Date());
    assert.equal(store.list('Pod', { namespace: 'team' }).length, 2);

    const gone = await call('DELETE', '/api/v1/namespaces/team');
    assert.equal(gone.status, 200);
    for (const kind of ['Pod', 'Deployment', 'ReplicaSet'] as const) assert.deepEqual(store.list(kind, { namespace: 'team' }), [], kind);
    assert.equal(store.list('Pod').length, 0);
  });

  it('restricted: a privileged pod and a hostPath pod are refused with the Pod Security Standards message', async (t) => {
    const { store, call } = await setup(t);
    await call('POST', '/api/v1/apply', namespaceYaml('locked', { 'pod-security.kubernetes.io/enforce': 'restricted' }));
    const priv = await call('POST', '/api/v1/apply', inNamespace(PRIVILEGED_POD, 'locked'));
    assert.equal(priv.status, 403);
    assert.equal(priv.body.reason, 'Forbidden');
    assert.equal(
      priv.body.message,
      'pods "priv" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false), ' +
        'unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"]), privileged (container "app" must not set securityContext.privileged=true), ' +
        'runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
    );
    const host = await call('POST', '/api/v1/namespaces/locked/pods', HOSTPATH_POD);
    assert.equal(host.status, 403);
    assert.match(host.body.message, /^pods "hostpath" is forbidden: violates PodSecurity "restricted:latest": .*restricted volume types \(volume "host" uses restricted volume type "hostPath"\)/);
    assert.deepEqual(store.list('Pod'), [], 'nothing was written');
    // A pod written for restricted passes.
    const hardened = `apiVersion: v1
kind: Pod
metadata: { name: hardened, namespace: locked }
spec:
  securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: RuntimeDefault } }
  containers:
    - name: app
      image: busybox
      securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: [ALL] } }
`;
    const ok = await call('POST', '/api/v1/apply', hardened);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(store.get<any>('Pod', 'locked', 'hardened')?.spec.securityContext.seccompProfile.type, 'RuntimeDefault');
  });

  it('baseline (labelled or not): a hostPath pod is refused, a plain pod accepted', async (t) => {
    const { store, call } = await setup(t);
    await call('POST', '/api/v1/apply', namespaceYaml('base', { 'pod-security.kubernetes.io/enforce': 'baseline' }));
    for (const ns of ['default', 'base']) {
      const host = await call('POST', '/api/v1/apply', inNamespace(HOSTPATH_POD, ns));
      assert.equal(host.status, 403, ns);
      assert.equal(host.body.message, 'pods "hostpath" is forbidden: violates PodSecurity "baseline:latest": hostPath volumes (volume "host")');
      const priv = await call('POST', `/api/v1/namespaces/${ns}/pods`, PRIVILEGED_POD);
      assert.equal(priv.status, 403, ns);
      assert.equal(priv.body.message, 'pods "priv" is forbidden: violates PodSecurity "baseline:latest": privileged (container "app" must not set securityContext.privileged=true)');
      const plain = await call('POST', '/api/v1/apply', podYaml('plain').replace('name: plain', `name: plain\n  namespace: ${ns}`));
      assert.equal(plain.status, 200, plain.text);
    }
    assert.deepEqual(store.list('Pod').map((p) => `${p.metadata.namespace}/${p.metadata.name}`), ['base/plain', 'default/plain']);
  });

  it('privileged: both are accepted', async (t) => {
    const { store, call } = await setup(t);
    await call('POST', '/api/v1/apply', namespaceYaml('ops', { 'pod-security.kubernetes.io/enforce': 'privileged' }));
    assert.equal((await call('POST', '/api/v1/apply', inNamespace(PRIVILEGED_POD, 'ops'))).status, 200);
    assert.equal((await call('POST', '/api/v1/namespaces/ops/pods', HOSTPATH_POD)).status, 201);
    assert.equal(store.list('Pod', { namespace: 'ops' }).length, 2);
  });

  it('warn label: accepted pods get a Warning header for the warn level', async (t) => {
    const { call } = await setup(t);
    await call('POST', '/api/v1/apply', namespaceYaml('soft', { 'pod-security.kubernetes.io/enforce': 'privileged', 'pod-security.kubernetes.io/warn': 'baseline' }));
    const res = await call('POST', '/api/v1/apply', inNamespace(HOSTPATH_POD, 'soft'));
    assert.equal(res.status, 200);
    assert.match(String(res.headers.warning), /^299 - "would violate PodSecurity \\"baseline:latest\\": hostPath volumes \(volume \\"host\\"\)"$/);
  });

  it('a workload with a violating template is accepted with a warning; its controller records FailedCreate and makes no pod', async (t) => {
    const { store, call, server } = await setup(t);
    addNode(store, 'node-a');
    await call('POST', '/api/v1/apply', namespaceYaml('apps'));
    for (const kind of ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'] as const) {
      const res = await call('POST', '/api/v1/apply', workload(kind, kind.toLowerCase(), 'apps'));
      assert.equal(res.status, 200, `${kind}: ${res.text}`);
      assert.equal(res.headers.warning, '299 - "would violate PodSecurity \\"baseline:latest\\": hostPath volumes (volume \\"host\\")"', kind);
    }
    const now = new Date();
    reconcileAll(store, now);
    reconcileAll(store, now);
    assert.deepEqual(store.list('Pod'), [], 'no pod was made');
    const rs = store.list('ReplicaSet', { namespace: 'apps' })[0]!;
    for (const owner of [rs.metadata.name, 'statefulset', 'daemonset', 'job']) {
      const events = store.listEvents({ namespace: 'apps', name: owner }).filter((e) => e.reason === 'FailedCreate');
      assert.equal(events.length, 1, owner);
      assert.equal(events[0]!.type, 'Warning');
      assert.match(events[0]!.message, /^Error creating: pods "[a-z0-9-]+" is forbidden: violates PodSecurity "baseline:latest": hostPath volumes \(volume "host"\)$/, owner);
    }

    // Relaxing the namespace lets the controllers make their pods.
    await call('POST', '/api/v1/apply', namespaceYaml('apps', { 'pod-security.kubernetes.io/enforce': 'privileged' }));
    reconcileAll(store, new Date());
    assert.deepEqual(store.list('Pod').map((p) => p.metadata.ownerReferences?.[0]?.kind).sort(), ['DaemonSet', 'Job', 'ReplicaSet', 'StatefulSet']);

    // Making the level stricter again warns about the pods already there (they keep running).
    const stricter = await patch(server, pki, '/api/v1/namespaces/apps', tokens.api, { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'baseline' } } });
    assert.equal(stricter.status, 200);
    const warnings = String(stricter.headers.warning).split(/, (?=299 )/);
    assert.equal(warnings[0], '299 - "existing pods in namespace \\"apps\\" violate the new PodSecurity enforce level \\"baseline:latest\\""');
    assert.equal(warnings.length, 5);
    assert.match(warnings[1]!, /^299 - "[a-z0-9-]+: hostPath volumes"$/);
    assert.equal(store.list('Pod').length, 4);
  });
});
