/**
 * Services and cluster DNS on a 2-node namespace cluster (native-scripts/cluster.sh up 2), as a user
 * sees them: a Deployment of 2 replicas behind a NodePort Service; from a pod, the Service's name
 * resolves to its ClusterIP and connections through the ClusterIP reach both replicas; the NodePort
 * answers on every node's address from the host; an agent stopped (SIGTERM) leaves the rules in
 * place; the node's cleanup (what `cluster.sh down` runs) removes the nft table, the cluster DNS
 * address and listener. Run it with its own cluster name and network, e.g.
 * CORELET_E2E_CLUSTER_NAME=sw CORELET_CLUSTER_NET=10.81.0 CORELET_CLUSTER_PORT=16481.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { execa } from 'execa';
import { ClusterHarness, type ApiPod } from '../helpers/cluster-harness.js';
import { REPO } from '../helpers/runtime-harness.js';

const LAUNCHER = join(REPO, 'native-scripts', 'node', 'corelet-node.sh');
let cluster: ClusterHarness;
let pods: ApiPod[] = [];
let service: { clusterIP: string; nodePort: number };

const MANIFEST = `apiVersion: apps/v1
kind: Deployment
metadata: {name: echo}
spec:
  replicas: 2
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: echo
        image: corelet.local/zeus/api:1.0
        imagePullPolicy: IfNotPresent
        command: [sh, -c, 'mkdir -p /tmp/w && hostname > /tmp/w/index.html && exec httpd -f -p 8080 -h /tmp/w']
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
        resources: {requests: {cpu: 10m, memory: 8Mi}}
---
apiVersion: v1
kind: Service
metadata: {name: echo}
spec:
  type: NodePort
  selector: {app: echo}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: kv}
spec:
  clusterIP: None
  selector: {app: kv}
  ports: [{name: db, port: 7000}]
---
apiVersion: v1
kind: Pod
metadata: {name: kv-0, labels: {app: kv}}
spec:
  hostname: kv-0
  subdomain: kv
  containers:
  - name: kv
    image: corelet.local/zeus/api:1.0
    imagePullPolicy: IfNotPresent
    command: [sleep, '3600']
    resources: {requests: {cpu: 10m, memory: 8Mi}}
`;
let kv: ApiPod;

/** Runs a command in a node's network namespace. */
const inNode = (netns: string, argv: string[]) => execa('ip', ['netns', 'exec', netns, ...argv], { reject: false });

before(async () => {
  cluster = await ClusterHarness.up(2);
  await cluster.loadExampleImages();
});

after(async () => {
  if (!cluster) return;
  const left = await cluster.down();
  assert.deepEqual(left, { netns: [], links: [], processes: [], cgroups: [], mounts: [], stateDir: [] }, 'cluster.sh down left something behind');
});

test('a Deployment behind a NodePort Service: 2 ready replicas, one on each node', async () => {
  await cluster.apply(MANIFEST);
  pods = await cluster.waitForReadyPods('app=echo', 2);
  [kv] = await cluster.waitForReadyPods('app=kv', 1);
  const svc = (await cluster.api<{ spec: { clusterIP: string; ports: { nodePort: number }[] } }>('/api/v1/namespaces/default/services/echo')).json;
  service = { clusterIP: svc.spec.clusterIP, nodePort: svc.spec.ports[0]!.nodePort };
  assert.match(service.clusterIP, /^10\.(9[6-9]|10[0-9]|11[01])\.\d+\.\d+$/, 'a ClusterIP from 10.96.0.0/12');
  // the endpoints controller lists both once they are Ready
  await cluster.waitFor('both replicas in the Service\'s EndpointSlice', async () => {
    const slices = (await cluster.api<{ items: { endpoints: { conditions: { ready: boolean } }[] }[] }>('/api/v1/namespaces/default/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Decho')).json.items;
    return slices.flatMap((s) => s.endpoints).filter((e) => e.conditions.ready).length === 2;
  }, 30_000);
});

test('from a pod: the Service name resolves to the ClusterIP and connections reach both replicas', async () => {
  const from = pods[0]!;
  const conf = await cluster.execInPod(from, ['cat', '/etc/resolv.conf']);
  // ClusterFirst: the cluster's searches first (then the node's own, if it has any), the cluster DNS only, ndots:5
  const lines = String(conf.stdout).trim().split('\n');
  assert.match(lines[0] ?? '', /^search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local( |$)/, String(conf.stdout));
  assert.deepEqual(lines.slice(1), ['nameserver 10.96.0.10', 'options ndots:5']);
  for (const name of ['echo', 'echo.default.svc.cluster.local']) {
    // (busybox's nslookup asks every search domain and exits 1 when one says NXDOMAIN: read its answer)
    const r = await cluster.execInPod(from, ['nslookup', name]);
    assert.match(String(r.stdout), new RegExp(`Name:\\s+echo\\.default\\.svc\\.cluster\\.local\\s+Address:\\s+${service.clusterIP.replace(/\./g, '\\.')}`), `nslookup ${name}: ${r.stdout} ${r.stderr}`);
  }
  // 40 connections through the ClusterIP, by name (busybox's wget -T crashes here: timeout instead): each replica answers some (the rules pick at random)
  const r = await cluster.execInPod(from, ['sh', '-c', 'for i in $(seq 40); do timeout 5 wget -q -O - http://echo/ || echo FAILED; done']);
  const answers = String(r.stdout).trim().split('\n');
  assert.equal(answers.length, 40, String(r.stdout) + String(r.stderr));
  assert.deepEqual([...new Set(answers)].sort(), pods.map((p) => p.metadata.name).sort(), `answered by: ${answers.join(' ')}`);
});

test('a pod with hostname and subdomain: its stable name resolves through the headless Service, its FQDN is in its /etc/hosts', async () => {
  const ip = kv.status!.podIP!;
  // through the pod's resolver (search list, first answer wins): busybox's nslookup would also ask
  // the bare name, which the node forwards to its resolvers (unreachable in a namespace cluster)
  const r = await cluster.execInPod(pods[0]!, ['ping', '-c', '1', '-W', '2', 'kv-0.kv']);
  assert.match(String(r.stdout), new RegExp(`^PING kv-0\\.kv \\(${ip.replace(/\./g, '\\.')}\\)`), `ping kv-0.kv: ${r.stdout} ${r.stderr}`);
  const hosts = await cluster.execInPod(kv, ['cat', '/etc/hosts']);
  assert.match(String(hosts.stdout), new RegExp(`^${ip.replace(/\./g, '\\.')}\tkv-0\\.kv\\.default\\.svc\\.cluster\\.local\tkv-0$`, 'm'), String(hosts.stdout));
});

test("the NodePort answers on every node's address from the host", async () => {
  for (const n of cluster.nodes) {
    const res = await fetch(`http://${n.ip}:${service.nodePort}/`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(res.status, 200, n.name);
    const text = (await res.text()).trim();
    assert.ok(pods.some((p) => p.metadata.name === text), `${n.name} answered ${JSON.stringify(text)}`);
  }
});

test('an agent stopped keeps the rules and the DNS address; the node cleanup (cluster.sh down) removes them', async () => {
  const node = cluster.nodes[1]!;
  await cluster.daemon('stop', `${node.name}/agent`);
  const tables = await inNode(node.netns, ['nft', 'list', 'tables']);
  assert.match(String(tables.stdout), /^table inet corelet$/m, 'the rules stay while the agent is down');
  const through = await inNode(node.netns, ['timeout', '5', 'wget', '-q', '-O', '-', `http://${service.clusterIP}/`]);
  assert.equal(through.exitCode, 0, `the ClusterIP answers with the agent stopped: ${through.stderr}`);
  assert.match(String((await inNode(node.netns, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'lo'])).stdout), / inet 10\.96\.0\.10\/32 /);

  // what `cluster.sh down` runs in each node once its agent has stopped
  const cleanup = await execa('nsenter', [`--net=/run/netns/${node.netns}`, LAUNCHER, 'agent-cleanup', join(node.dir, 'node.env')], { reject: false });
  assert.equal(cleanup.exitCode, 0, String(cleanup.stderr));
  assert.doesNotMatch(String((await inNode(node.netns, ['nft', 'list', 'tables'])).stdout), /table inet corelet/);
  assert.doesNotMatch(String((await inNode(node.netns, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'lo'])).stdout), /10\.96\.0\.10/);
  assert.doesNotMatch(String((await inNode(node.netns, ['ss', '-Hlnu'])).stdout), /10\.96\.0\.10:53/, 'no DNS listener');
  const ct = await inNode(node.netns, ['conntrack', '-L', '-d', service.clusterIP]);
  assert.doesNotMatch(String(ct.stdout), new RegExp(service.clusterIP.replace(/\./g, '\\.')), 'no conntrack entry of the Service');
});
