/**
 * The real kubectl (v1.36, /opt/k8s/bin/kubectl as `install-deps.sh --test` builds it; $KUBECTL
 * another) against a 3-node namespace cluster (native-scripts/cluster.sh up 3) running the Zeus ZAP
 * example, with the kubeconfig `corelet config kubeconfig` prints: version, api-resources, get with
 * kubectl's columns (server-side Tables), describe, a watch seeing a change, create namespace and
 * deployment (typed clients: protobuf bodies), auth can-i, and a view-only user's kubeconfig
 * refused writes. `cluster.sh down` runs in after() and must leave
 * nothing behind.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { ClusterHarness, EXAMPLES } from '../helpers/cluster-harness.js';

const KUBECTL = process.env.KUBECTL ?? '/opt/k8s/bin/kubectl';
const ZEUS = 'app.kubernetes.io/part-of=zeus';
let cluster: ClusterHarness;
let adminConfig: string;
let viewerConfig: string;

/** Runs kubectl with a kubeconfig (the admin's by default) and its own discovery cache. */
async function kubectl(args: string[], opts: { kubeconfig?: string; reject?: boolean } = {}) {
  return execa(KUBECTL, ['--kubeconfig', opts.kubeconfig ?? adminConfig, '--cache-dir', join(cluster.root, 'kube-cache'), ...args], {
    env: { HOME: cluster.home },
    reject: opts.reject ?? true,
    timeout: 60_000,
  });
}

/** The rows of kubectl's table output, split on its column gaps (two or more spaces). */
const rows = (stdout: string) => stdout.trim().split('\n').map((l) => l.trim().split(/\s{2,}/));

before(async () => {
  assert.ok(existsSync(KUBECTL), `${KUBECTL} is missing: run native-scripts/install-deps.sh --test (it builds kubectl v1.36.3 with the conformance kit's build-k8s.sh), or set KUBECTL`);
  cluster = await ClusterHarness.up(3);
  await cluster.loadExampleImages();
  await cluster.corelet(['apply', '-f', EXAMPLES]);
  adminConfig = join(cluster.root, 'admin.kubeconfig');
  await writeFile(adminConfig, (await cluster.corelet(['config', 'kubeconfig'])).stdout + '\n', { mode: 0o600 });
  await cluster.waitForReadyPods(ZEUS, 7);
  // the workloads' status follows their pods' (the controllers' next pass), as with kube-controller-manager
  await cluster.waitFor('zeus-api and zeus-db to count their ready pods', async () => {
    const ready = (await kubectl(['get', 'deployment/zeus-api', 'statefulset/zeus-db', '-o', 'jsonpath={.items[*].status.readyReplicas}'])).stdout;
    return ready === '2 1';
  });
});

after(async () => {
  if (!cluster) return;
  const left = await cluster.down();
  assert.deepEqual(left, { netns: [], links: [], processes: [], cgroups: [], mounts: [], stateDir: [] }, 'cluster.sh down left something behind');
});

test('kubectl version and api-resources read the server through discovery', async () => {
  const version = await kubectl(['version']);
  assert.match(version.stdout, /^Client Version: v1\.36\./m);
  assert.match(version.stdout, /^Server Version: v1\.36\.0\+corelet\./m);
  assert.doesNotMatch(version.stderr, /WARNING.*version difference/);

  const resources = rows((await kubectl(['api-resources'])).stdout);
  assert.deepEqual(resources[0], ['NAME', 'SHORTNAMES', 'APIVERSION', 'NAMESPACED', 'KIND']);
  const byName = new Map(resources.slice(1).map((r) => [r[0], r.slice(1)]));
  assert.deepEqual(byName.get('deployments'), ['deploy', 'apps/v1', 'true', 'Deployment']);
  assert.deepEqual(byName.get('pods'), ['po', 'v1', 'true', 'Pod']);
  assert.deepEqual(byName.get('jobs'), ['batch/v1', 'true', 'Job']);
  assert.deepEqual(byName.get('endpointslices'), ['discovery.k8s.io/v1', 'true', 'EndpointSlice']);
  assert.deepEqual(byName.get('clusterroles'), ['rbac.authorization.k8s.io/v1', 'false', 'ClusterRole']);
  assert.deepEqual(byName.get('nodes'), ['no', 'v1', 'false', 'Node']);
});

test('kubectl get pods -o wide -A, get deploy,sts,svc and get nodes -o wide print kubectl columns', async () => {
  const pods = rows((await kubectl(['get', 'pods', '-o', 'wide', '-A', '-l', ZEUS])).stdout);
  assert.deepEqual(pods[0], ['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES']);
  assert.equal(pods.length, 8, pods.map((r) => r.join(' ')).join('\n'));
  for (const [ns, name, ready, status, , , ip, node] of pods.slice(1)) {
    assert.equal(ns, 'default');
    assert.equal(ready, '1/1', name);
    assert.equal(status, 'Running', name);
    assert.match(ip, /^10\.244\.\d+\.\d+$/, name);
    assert.match(node, /^node[123]$/, name);
  }

  const out = (await kubectl(['get', 'deploy,sts,svc'])).stdout;
  const deploys = rows(out.split('\n\n')[0]);
  assert.deepEqual(deploys[0], ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE']);
  assert.deepEqual(deploys.find((r) => r[0] === 'deployment.apps/zeus-api')?.slice(1, 4), ['2/2', '2', '2']);
  assert.deepEqual(rows(out.split('\n\n')[1]).find((r) => r[0] === 'statefulset.apps/zeus-db')?.[1], '1/1');
  const svc = rows(out.split('\n\n')[2]);
  assert.deepEqual(svc[0], ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE']);
  const [, type, clusterIp, externalIp, ports] = svc.find((r) => r[0] === 'service/zeus-web') ?? [];
  assert.deepEqual([type, externalIp, ports], ['NodePort', '<none>', '80:30080/TCP']);
  assert.match(clusterIp, /^10\.\d+\.\d+\.\d+$/);

  const nodes = rows((await kubectl(['get', 'nodes', '-o', 'wide'])).stdout);
  assert.deepEqual(nodes[0], ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION', 'INTERNAL-IP', 'EXTERNAL-IP', 'OS-IMAGE', 'KERNEL-VERSION', 'CONTAINER-RUNTIME']);
  assert.deepEqual(nodes.slice(1).map((r) => `${r[0]} ${r[1]}`), ['node1 Ready', 'node2 Ready', 'node3 Ready']);

  const missing = await kubectl(['get', 'deployment', 'nosuch'], { reject: false });
  assert.equal(missing.exitCode, 1);
  assert.match(missing.stderr, /^Error from server \(NotFound\): deployments "nosuch" not found/m);
});

test('kubectl describe pod shows the pod, its node and its events', async () => {
  const name = rows((await kubectl(['get', 'pods', '-l', 'app=zeus-db', '-o', 'name'])).stdout)[0][0].replace(/^pod\//, '');
  const out = (await kubectl(['describe', 'pod', name])).stdout;
  assert.match(out, new RegExp(`^Name:\\s+${name}$`, 'm'));
  assert.match(out, /^Node:\s+node[123]\/10\.\d+\.\d+\.\d+$/m);
  assert.match(out, /^Status:\s+Running$/m);
  assert.match(out, /^Controlled By:\s+StatefulSet\/zeus-db$/m);
  assert.match(out, /^Events:/m);
});

test('kubectl get pods -w prints a change as it happens', async () => {
  const args = ['--kubeconfig', adminConfig, '--cache-dir', join(cluster.root, 'kube-cache'), 'get', 'pods', '-l', 'app=zeus-db', '-w', '--output-watch-events'];
  const watch = spawn(KUBECTL, args, { env: { HOME: cluster.home }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  watch.stdout.on('data', (d: Buffer) => (out += d.toString()));
  try {
    await cluster.waitFor('the watch to list the pod', async () => /ADDED\s+zeus-db-0/.test(out), 30_000);
    await kubectl(['label', 'pod', 'zeus-db-0', 'kubectl-e2e=seen']);
    await cluster.waitFor(`a MODIFIED row for zeus-db-0 (got:\n${out})`, async () => /MODIFIED\s+zeus-db-0\s+1\/1\s+Running/.test(out), 30_000);
  } finally {
    watch.kill();
  }
});

test('kubectl create namespace and create deployment (protobuf bodies) make running pods; delete namespace removes them', async () => {
  assert.equal((await kubectl(['create', 'namespace', 'kde2e'])).stdout.trim(), 'namespace/kde2e created');
  const created = await kubectl(['create', 'deployment', 'kd-web', '--image=corelet.local/zeus/quotes:1.0', '--replicas=2', '--port=8080', '-n', 'kde2e']);
  assert.equal(created.stdout.trim(), 'deployment.apps/kd-web created');
  await cluster.waitFor(
    'kd-web 2/2 ready',
    async () => (await kubectl(['get', 'deploy', 'kd-web', '-n', 'kde2e', '-o', 'jsonpath={.status.readyReplicas}'])).stdout === '2',
    120_000,
    async () => (await kubectl(['get', 'all', '-n', 'kde2e', '-o', 'wide'], { reject: false })).stdout,
  );
  const all = (await kubectl(['get', 'all', '-n', 'kde2e'])).stdout;
  assert.match(all, /^deployment\.apps\/kd-web\s+2\/2\s+2\s+2\s/m);
  assert.match(all, /^replicaset\.apps\/kd-web-\S+\s+2\s+2\s+2\s/m);
  assert.equal((all.match(/^pod\/kd-web-\S+\s+1\/1\s+Running\s/gm) ?? []).length, 2, all);
  await kubectl(['delete', 'namespace', 'kde2e']);
  assert.match((await kubectl(['get', 'namespace', 'kde2e'], { reject: false })).stderr, /NotFound/);
});

test('kubectl auth can-i and auth whoami answer, and a view-only kubeconfig is refused writes', async () => {
  assert.equal((await kubectl(['auth', 'can-i', 'create', 'deployments'])).stdout.trim(), 'yes');

  const created = await cluster.corelet(['create', 'user', 'kubectl-viewer', '--set-context']);
  const said = `${String(created.stdout)}\n${String(created.stderr)}`;
  const context = /context "([^"]+)" added/.exec(said)?.[1];
  assert.ok(context, `create user --set-context names its context: ${said}`);
  await cluster.corelet(['create', 'clusterrolebinding', 'kubectl-viewer-view', '--clusterrole', 'view', '--user', 'kubectl-viewer']);
  viewerConfig = join(cluster.root, 'viewer.kubeconfig');
  await writeFile(viewerConfig, (await cluster.corelet(['config', 'kubeconfig', '--context', context])).stdout + '\n', { mode: 0o600 });

  assert.deepEqual(rows((await kubectl(['auth', 'whoami'], { kubeconfig: viewerConfig })).stdout), [['ATTRIBUTE', 'VALUE'], ['Username', 'kubectl-viewer'], ['Groups', '[system:authenticated]']]);
  assert.equal(rows((await kubectl(['get', 'pods', '-l', ZEUS], { kubeconfig: viewerConfig })).stdout).length, 8);
  assert.equal((await kubectl(['auth', 'can-i', 'delete', 'pods'], { kubeconfig: viewerConfig, reject: false })).stdout.trim(), 'no');
  const del = await kubectl(['delete', 'pod', 'zeus-db-0'], { kubeconfig: viewerConfig, reject: false });
  assert.equal(del.exitCode, 1);
  assert.match(del.stderr, /Error from server \(Forbidden\): pods "zeus-db-0" is forbidden: User "kubectl-viewer" cannot delete resource "pods" in API group "" in the namespace "default"/);
  const scale = await kubectl(['scale', 'deployment', 'zeus-web', '--replicas', '3'], { kubeconfig: viewerConfig, reject: false });
  assert.match(scale.stderr, /\(Forbidden\).*User "kubectl-viewer" cannot patch resource "deployments\/scale" in API group "apps"/);
  assert.equal((await kubectl(['get', 'deploy', 'zeus-web', '-o', 'jsonpath={.spec.replicas}'])).stdout, '2', 'nothing changed');
});

test('kubectl apply -f examples/ (client-side, again, --server-side), explain, scale and rollout restart through the controllers', async () => {
  // the example was made by `corelet apply`: kubectl's client-side apply takes it over (its last-applied annotation)
  const first = await kubectl(['apply', '-f', EXAMPLES]);
  assert.match(first.stdout, /^deployment\.apps\/zeus-api (configured|unchanged)$/m, first.stdout);
  const again = await kubectl(['apply', '-f', EXAMPLES]);
  assert.match(again.stdout, /^deployment\.apps\/zeus-api unchanged$/m, again.stdout);
  const server = await kubectl(['apply', '--server-side', '-f', EXAMPLES]);
  assert.match(server.stdout, /^deployment\.apps\/zeus-api serverside-applied$/m, server.stdout);

  const explain = (await kubectl(['explain', 'deployment.spec'])).stdout;
  assert.match(explain, /^KIND:\s+Deployment$/m);
  assert.match(explain, /^\s+replicas\s+<integer>$/m);

  const readyReplicas = async () => (await kubectl(['get', 'deployment/zeus-api', '-o', 'jsonpath={.status.readyReplicas}'])).stdout;
  await kubectl(['scale', 'deployment/zeus-api', '--replicas=3']);
  await cluster.waitFor('zeus-api scaled to 3 ready', async () => (await readyReplicas()) === '3', 180_000);

  const before = (await kubectl(['get', 'pods', '-l', 'app=zeus-api', '-o', 'jsonpath={.items[*].metadata.name}'])).stdout.split(' ');
  await kubectl(['rollout', 'restart', 'deployment/zeus-api']);
  const status = await kubectl(['rollout', 'status', 'deployment/zeus-api', '--timeout=180s']);
  assert.match(status.stdout, /deployment "zeus-api" successfully rolled out/);
  const restartedAt = (await kubectl(['get', 'deployment/zeus-api', '-o', 'jsonpath={.spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}'])).stdout;
  assert.match(restartedAt, /^\d{4}-\d\d-\d\dT/);
  await cluster.waitFor('the restart to replace every zeus-api pod', async () => {
    const now = (await kubectl(['get', 'pods', '-l', 'app=zeus-api', '--field-selector=status.phase=Running', '-o', 'jsonpath={.items[*].metadata.name}'])).stdout.split(' ');
    return now.length === 3 && now.every((n) => !before.includes(n));
  }, 180_000);
});

test('kubectl delete -f examples/ removes the example and its pods', async () => {
  const del = await kubectl(['delete', '-f', EXAMPLES]);
  assert.match(del.stdout, /^deployment\.apps "zeus-api" deleted/m, del.stdout);
  await cluster.waitFor('the example\'s pods to be gone', async () => (await kubectl(['get', 'pods', '-l', ZEUS, '-o', 'name'])).stdout.trim() === '', 180_000);
});
