/**
 * A 3-node namespace cluster (native-scripts/cluster.sh up 3) running the Zeus ZAP example: every
 * pod Running and spread over the nodes, the UI answering on its NodePort at every node's address
 * from the host with both Services' replicas, a pod reaching a pod on another node by its IP. `cluster.sh down` runs in after(), whatever happened,
 * and must leave nothing behind. More tests on the same cluster go between the first and after().
 */
import { readAdminConfig } from '../helpers/admin-config.js';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { ClusterHarness, EXAMPLES, type ApiPod } from '../helpers/cluster-harness.js';
import { CORELET, removeCgroupTree } from '../helpers/runtime-harness.js';

const ZEUS = 'app.kubernetes.io/part-of=zeus';
let cluster: ClusterHarness;
let zeus: ApiPod[] = [];

/** GET from the host, as a user's browser would. */
async function httpGet(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, text: await res.text() };
}

before(async () => {
  cluster = await ClusterHarness.up(3);
  await cluster.loadExampleImages();
});

after(async () => {
  if (!cluster) return;
  const left = await cluster.down();
  assert.deepEqual(left, { netns: [], links: [], processes: [], cgroups: [], mounts: [], stateDir: [] }, 'cluster.sh down left something behind');
});

test('the Zeus ZAP example runs: every pod Running and Ready, spread over the nodes', async () => {
  // as a user would: the CLI with the config `cluster.sh up` wrote
  await cluster.corelet(['apply', '-f', EXAMPLES]);
  zeus = await cluster.waitForReadyPods(ZEUS, 7);
  const nodes = new Set(zeus.map((p) => p.spec.nodeName));
  assert.ok(nodes.size >= 2, `pods on ${[...nodes].join(', ')}: expected at least two nodes`);
  const apiNodes = zeus.filter((p) => p.metadata.labels?.app === 'zeus-api').map((p) => p.spec.nodeName);
  assert.equal(new Set(apiNodes).size, 2, `the two zeus-api replicas share a node (${apiNodes.join(', ')}): the scheduler should spread them`);
  for (const p of zeus) assert.match(p.status?.podIP ?? '', /^10\.244\.\d+\.\d+$/, `${p.metadata.name} has an IP from its node's pod CIDR`);
});

test("the UI answers on its NodePort at every node's address, showing which api and quotes replica answered", async () => {
  const apis = zeus.filter((x) => x.metadata.labels?.app === 'zeus-api');
  // the page calls each Service 6 times: reload until every api replica has answered at least once
  const seen = new Set<string>();
  for (const node of cluster.nodes) {
    const url = `http://${node.ip}:30080/`;
    const page = await cluster.waitFor(
      `the UI at ${url} (NodePort of zeus-web) to show both Services`,
      async () => {
        const r = await httpGet(url);
        return r.status === 200 && /zeus-api 1\.0 on pod \S+ \([\d.]+, node \S+\): visit #\d+/.test(r.text) && /zeus-quotes 1\.0 on pod/.test(r.text) ? r.text : undefined;
      },
      60_000,
      async () => (await httpGet(url).catch((e: unknown) => ({ text: String(e) }))).text,
    );
    assert.match(page, /<h1>Zeus ZAP<\/h1>/);
    assert.match(page, /database: zeus-db-0\.zeus-db:7000/);
    for (const p of apis) if (page.includes(`zeus-api 1.0 on pod ${p.metadata.name} `)) seen.add(p.metadata.name);
  }
  await cluster.waitFor(
    'every api replica to answer the UI through the Service',
    async () => {
      const r = await httpGet(`http://${cluster.nodes[0]!.ip}:30080/`);
      for (const p of apis) if (r.text.includes(`zeus-api 1.0 on pod ${p.metadata.name} `)) seen.add(p.metadata.name);
      return seen.size === apis.length ? true : undefined;
    },
    60_000,
    async () => `seen: ${[...seen].join(', ')}`,
  );
});

test('a pod reaches a pod on another node by its IP', async () => {
  const from = zeus.find((p) => p.metadata.labels?.app === 'zeus-web')!;
  const to = zeus.find((p) => p.spec.nodeName !== from.spec.nodeName)!;
  assert.ok(to, 'a pod on another node');
  const port = { 'zeus-db': 7000, 'zeus-api': 8081, 'zeus-quotes': 8082, 'zeus-web': 8080 }[to.metadata.labels!.app!];
  const r = await cluster.execInPod(from, ['timeout', '10', 'wget', '-q', '-O', '-', `http://${to.status!.podIP}:${port}/healthz`]);
  assert.equal(r.exitCode, 0, `wget from ${from.metadata.name} (${from.spec.nodeName}) to ${to.metadata.name} (${to.spec.nodeName}, ${to.status!.podIP}): ${r.stderr}`);
  assert.equal(String(r.stdout).trim(), 'ok');
  const ping = await cluster.execInPod(from, ['ping', '-c', '1', '-W', '5', to.status!.podIP!]);
  assert.equal(ping.exitCode, 0, `ping ${to.status!.podIP}: ${ping.stdout} ${ping.stderr}`);
});

test('a pod created with spec.nodeName runs on that node; delete is graceful, --grace-period=0 --force immediate', async () => {
  const target = cluster.nodes[1]!.name;
  const pinned = (name: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {app: pinned}}
spec:
  nodeName: ${target}
  terminationGracePeriodSeconds: 5
  containers:
  - name: api
    image: corelet.local/zeus/api:1.0
    imagePullPolicy: IfNotPresent
    resources: {requests: {cpu: 10m, memory: 8Mi}}
`;
  await cluster.corelet(['apply', '-f', '-'], { input: `${pinned('pinned-a')}---\n${pinned('pinned-b')}` });
  const pods = await cluster.waitForReadyPods('app=pinned', 2);
  assert.ok(pods.every((p) => p.spec.nodeName === target), 'they run on the node they name');
  const running = async (name: string) => {
    const ps = JSON.parse(String((await cluster.crictl(target, ['ps', '-o', 'json', '--state', 'running'])).stdout)) as { containers: { labels: Record<string, string> }[] };
    return ps.containers.some((c) => c.labels['io.kubernetes.pod.name'] === name);
  };
  assert.ok(await running('pinned-a'));

  const deleted = await cluster.corelet(['delete', 'pod', 'pinned-a']);
  assert.match(String(deleted.stdout), /^pod "pinned-a" deleted$/);
  // The object goes only once the node stopped the pod and confirmed: never while it still runs.
  await cluster.waitFor('pinned-a removed once its node confirmed', async () => {
    const present = (await cluster.pods({ labelSelector: 'app=pinned' })).some((p) => p.metadata.name === 'pinned-a');
    if (!present) assert.equal(await running('pinned-a'), false, 'pinned-a no longer runs when its object is gone');
    return !present;
  }, 60_000);

  const forced = await cluster.corelet(['delete', 'pod', 'pinned-b', '--grace-period=0', '--force']);
  assert.match(String(forced.stdout), /^pod "pinned-b" force deleted$/);
  assert.match(String(forced.stderr), /^Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated/);
  assert.deepEqual(await cluster.pods({ labelSelector: 'app=pinned' }), [], 'removed at once');
  await cluster.waitFor('pinned-b stopped on its node', async () => !(await running('pinned-b')), 60_000);
});

/** A Deployment of the example's api image, scaled and rolled below. */
function hello(image: string, replicas: number): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: hello}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: hello}}
  template:
    metadata: {labels: {app: hello}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: api
        image: ${image}
        imagePullPolicy: IfNotPresent
        resources: {requests: {cpu: 10m, memory: 8Mi}}
        readinessProbe: {httpGet: {path: /healthz, port: 8081}, periodSeconds: 1}
`;
}

const isReady = (p: ApiPod) => p.status?.phase === 'Running' && !!p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('scale a Deployment 2 → 6 → 2, roll it to a new image keeping it Ready, and undo', async (t) => {
  await cluster.corelet(['apply', '-f', '-'], { input: hello('corelet.local/zeus/api:1.0', 2) });
  await cluster.waitForReadyPods('app=hello', 2);
  await cluster.corelet(['scale', 'deployment', 'hello', '--replicas', '6']);
  const six = await cluster.waitForReadyPods('app=hello', 6);
  assert.equal(new Set(six.map((p) => p.spec.nodeName)).size, 3, 'six replicas spread over the three nodes');
  await cluster.corelet(['scale', 'deployment', 'hello', '--replicas', '2']);
  await cluster.waitForReadyPods('app=hello', 2);

  // a new image: with 2 replicas the default maxUnavailable (25%) rounds down to 0, so 2 must stay Ready
  await cluster.corelet(['apply', '-f', '-'], { input: hello('corelet.local/zeus/api:1.1', 2) });
  let fewest = Infinity;
  let samples = 0;
  await cluster.waitFor('every hello pod on api:1.1 and Ready', async () => {
    const pods = await cluster.pods({ labelSelector: 'app=hello' });
    fewest = Math.min(fewest, pods.filter(isReady).length);
    samples++;
    return pods.length === 2 && pods.every((p) => isReady(p) && p.spec.containers[0]!.image.endsWith(':1.1'));
  }, 180_000);
  t.diagnostic(`rolling update: ${samples} samples, never fewer than ${fewest} Ready`);
  assert.ok(fewest >= 2, `at some point only ${fewest} of 2 replicas were Ready (maxUnavailable 0)`);
  const status = await cluster.corelet(['rollout', 'status', 'deployment', 'hello']);
  assert.match(String(status.stdout), /successfully rolled out/);
  const history = String((await cluster.corelet(['rollout', 'history', 'deployment', 'hello'])).stdout);
  assert.match(history, /^REVISION/m);
  assert.match(history, /^1\s/m);
  assert.match(history, /^2\s/m);

  await cluster.corelet(['rollout', 'undo', 'deployment', 'hello']);
  await cluster.waitFor('hello back on api:1.0', async () => {
    const pods = await cluster.pods({ labelSelector: 'app=hello' });
    return pods.length === 2 && pods.every((p) => isReady(p) && p.spec.containers[0]!.image.endsWith(':1.0'));
  }, 180_000);
  await cluster.corelet(['delete', 'deployment', 'hello']);
  await cluster.waitFor('hello pods gone', async () => (await cluster.pods({ labelSelector: 'app=hello' })).length === 0);
});

test('a StatefulSet keeps each ordinal on the node that holds its volume, and starts in order', async () => {
  const sts = (replicas: number) => `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: kv}
spec:
  serviceName: kv
  replicas: ${replicas}
  selector: {matchLabels: {app: kv}}
  template:
    metadata: {labels: {app: kv}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: kv
        image: corelet.local/zeus/api:1.0
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "[ -f /data/id ] || echo \\"$(hostname) $(date +%s%N)\\" > /data/id; exec sleep 3600"]
        readinessProbe: {exec: {command: ["cat", "/data/id"]}, periodSeconds: 1}
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 10Mi}}}
`;
  await cluster.corelet(['apply', '-f', '-'], { input: sts(2) });
  const two = await cluster.waitForReadyPods('app=kv', 2);
  const kv0 = two.find((p) => p.metadata.name === 'kv-0')!;
  assert.ok(kv0, 'ordinal names kv-0, kv-1');
  const written = String((await cluster.corelet(['exec', 'kv-0', '--', 'cat', '/data/id'])).stdout);
  assert.match(written, /^kv-0 \d+/, 'kv-0 wrote its file (hostname = pod name)');

  await cluster.corelet(['delete', 'pod', 'kv-0']);
  const back = await cluster.waitFor('kv-0 to come back Ready', async () => {
    const p = (await cluster.pods({ labelSelector: 'app=kv' })).find((x) => x.metadata.name === 'kv-0');
    return p && p.metadata.uid !== kv0.metadata.uid && isReady(p) ? p : undefined;
  });
  assert.equal(back.spec.nodeName, kv0.spec.nodeName, 'kv-0 came back on the node that holds its volume');
  assert.equal(String((await cluster.corelet(['exec', 'kv-0', '--', 'cat', '/data/id'])).stdout), written, 'and reads its own file back');

  await cluster.corelet(['scale', 'statefulset', 'kv', '--replicas', '3']);
  const three = await cluster.waitForReadyPods('app=kv', 3);
  const kv1 = three.find((p) => p.metadata.name === 'kv-1')!;
  const kv2 = three.find((p) => p.metadata.name === 'kv-2')!;
  const kv1Ready = Date.parse(kv1.status!.conditions!.find((c) => c.type === 'Ready')!.lastTransitionTime!);
  const kv2Created = Date.parse(kv2.metadata.creationTimestamp!);
  assert.ok(kv2Created >= kv1Ready - 1000, `kv-2 created at ${kv2.metadata.creationTimestamp}, before kv-1 was Ready at ${new Date(kv1Ready).toISOString()}`);
  await cluster.corelet(['delete', 'statefulset', 'kv']);
  await cluster.waitFor('kv pods gone', async () => (await cluster.pods({ labelSelector: 'app=kv' })).length === 0);
});

/**
 * Each pod's name → uid, node and container restarts, and the running containers of those pods on
 * each node (containers of pods deleted by earlier tests may still be stopping: they do not count).
 */
async function snapshot(): Promise<{ pods: string[]; containers: string[] }> {
  const apiPods = await cluster.pods();
  const uids = new Set(apiPods.map((p) => p.metadata.uid));
  const pods = apiPods.map((p) => `${p.metadata.name} ${p.metadata.uid} ${p.spec.nodeName} restarts=${(p.status?.containerStatuses ?? []).map((c) => c.restartCount).join(',')}`).sort();
  const containers: string[] = [];
  for (const n of cluster.nodes) {
    const ps = JSON.parse(String((await cluster.crictl(n.name, ['ps', '-o', 'json', '--state', 'running'])).stdout)) as { containers: { id: string; labels: Record<string, string> }[] };
    for (const c of ps.containers) if (uids.has(c.labels['io.kubernetes.pod.uid'] ?? '')) containers.push(`${n.name} ${c.id}`);
  }
  return { pods, containers: containers.sort() };
}

test('kill -9 the scheduler and restart it: the same pods and bindings, nothing restarts', async () => {
  const before_ = await snapshot();
  assert.ok(before_.pods.length >= 6, 'the Zeus pods are there');
  assert.equal(before_.containers.length, before_.pods.length, 'one running container per pod');
  await cluster.daemon('kill', 'scheduler');
  await cluster.daemon('start', 'scheduler');
  const listed = String((await cluster.corelet(['get', 'pods', '-o', 'wide'])).stdout);
  for (const line of before_.pods) assert.match(listed, new RegExp(`^${line.split(' ')[0]}\\s.*\\s${line.split(' ')[2]}\\b`, 'm'), `get pods shows ${line}`);
  // the agents reconnect and resynchronise: give them a few heartbeats, then nothing may have changed
  await cluster.waitFor('every node Ready again', async () => {
    const nodes = (await cluster.api<{ items: { status: { conditions: { type: string; status: string }[] } }[] }>('/api/v1/nodes')).json.items;
    return nodes.length === 3 && nodes.every((n) => n.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True'));
  });
  await sleep(5000);
  assert.deepEqual(await snapshot(), before_);
});

test('a join with a bad token or CA hash fails; the API refuses requests without credentials', async () => {
  const config = await readAdminConfig(join(cluster.dir, 'admin-config'));
  const caFile = join(cluster.root, 'ca.pem');
  await writeFile(caFile, config.caCert);
  const curl = await execa('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', caFile, `${config.server}/api/v1/pods`], { reject: false });
  assert.equal(curl.stdout, '401');
  const get = await execa(process.execPath, [CORELET, 'get', 'pods', '--server', config.server, '--token', 'abcdef.0123456789abcdef', '--ca-cert', caFile], { reject: false, env: { HOME: cluster.home } });
  assert.notEqual(get.exitCode, 0);
  assert.match(get.stderr, /token/i);

  // the join settings cluster.sh gave the nodes: SCHEDULER_SERVER, JOIN_TOKEN, CA_CERT_HASH
  const env = Object.fromEntries((await readFile(join(cluster.dir, 'join.env'), 'utf8')).split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  const join_ = { server: env.SCHEDULER_SERVER, token: env.JOIN_TOKEN, caCertHash: env.CA_CERT_HASH };
  const node = cluster.nodes[0]!;
  const qos = `${cluster.name}-intruder-kubepods`;
  const base = [CORELET, 'agent', '--runtime-endpoint', `unix://${node.socket}`, '--root', join(cluster.root, 'intruder'), '--address', '127.0.0.1', '--port', '0', '--qos-cgroup', qos, '--node-name', 'intruder'];
  // tokens go in 0600 files (--token-file), never on the command line
  const tokenFile = (name: string, token: string) => writeFile(join(cluster.root, name), `${token}\n`, { mode: 0o600 }).then(() => join(cluster.root, name));
  const unknownToken = await tokenFile('unknown-token', 'abcdef.0123456789abcdef');
  const realToken = await tokenFile('join-token', join_.token!);
  try {
    const badToken = await execa(process.execPath, [...base, '--server', join_.server!, '--token-file', unknownToken, '--ca-cert-hash', join_.caCertHash!], { reject: false, timeout: 30_000 });
    assert.notEqual(badToken.exitCode, 0);
    assert.match(badToken.stderr, /refused the node certificate \(401\).*token abcdef is not known/);
    assert.ok(!badToken.stderr.includes('0123456789abcdef'), 'the secret is not repeated');
    const badHash = await execa(process.execPath, [...base, '--server', join_.server!, '--token-file', realToken, '--ca-cert-hash', `sha256:${'0'.repeat(64)}`], { reject: false, timeout: 30_000 });
    assert.notEqual(badHash.exitCode, 0);
    assert.match(badHash.stderr, /CA does not match --ca-cert-hash/);
    // A valid token cannot take over a joined node's name.
    const rogue = [...base.slice(0, -1), 'node1', '--root', join(cluster.root, 'rogue')];
    const takeover = await execa(process.execPath, [...rogue, '--server', join_.server!, '--token-file', realToken, '--ca-cert-hash', join_.caCertHash!], { reject: false, timeout: 30_000 });
    assert.notEqual(takeover.exitCode, 0);
    assert.match(takeover.stderr, /node node1 is already registered; delete it with `corelet delete node node1` to rejoin under that name/);
  } finally {
    await removeCgroupTree(`/${qos}`);
  }
  const nodes = (await cluster.api<{ items: { metadata: { name: string } }[] }>('/api/v1/nodes')).json.items.map((n) => n.metadata.name).sort();
  assert.deepEqual(nodes, ['node1', 'node2', 'node3']);
});

test('trust as users meet it: a view user reads but cannot write, restricted refuses a privileged pod, the agent port wants a certificate', async () => {
  // an admin makes a namespace, a user and a read-only binding, all with the CLI
  await cluster.corelet(['create', 'namespace', 'team']);
  const made = await cluster.corelet(['create', 'user', 'vera', '--set-context']);
  const context = /context "([^"]+)" added/.exec(String(made.stdout))?.[1];
  assert.ok(context, `create user printed its context: ${made.stdout}`);
  await cluster.corelet(['create', 'rolebinding', 'vera-view', '--clusterrole', 'view', '--user', 'vera', '-n', 'team']);
  const pod = (name: string, extra = '') => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: team}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: corelet.local/zeus/api:1.0
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "echo hello from ${name}; exec sleep 3600"]
${extra}`;
  await cluster.corelet(['apply', '-f', '-'], { input: pod('plain') });
  await cluster.waitFor('team/plain to run', async () => {
    const r = await cluster.api<ApiPod>('/api/v1/namespaces/team/pods/plain');
    return r.json?.status?.phase === 'Running';
  });

  const text = (r: { exitCode?: number; stdout?: unknown; stderr?: unknown }) => ({ exitCode: r.exitCode, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') });
  // --context goes before a `--`: after it, it would be part of the command exec runs
  const withContext = (args: string[]) => (args.includes('--') ? [...args.slice(0, args.indexOf('--')), '--context', context!, ...args.slice(args.indexOf('--'))] : [...args, '--context', context!]);
  const asVera = async (args: string[], input?: string) => text(await cluster.corelet(withContext(args), { reject: false, input }));
  const listed = await asVera(['get', 'pods', '-n', 'team']);
  assert.equal(listed.exitCode, 0, listed.stderr);
  assert.match(listed.stdout, /^plain\s/m);
  const logs = await cluster.waitFor('vera to read the log', async () => {
    const r = await asVera(['logs', 'plain', '-n', 'team']);
    return r.exitCode === 0 && r.stdout.includes('hello from plain') ? r : undefined;
  });
  assert.equal(logs.exitCode, 0);
  for (const [args, verb] of [
    [['delete', 'pod', 'plain', '-n', 'team'], /User "vera" cannot delete resource "pods" in API group "" in the namespace "team"/],
    [['exec', 'plain', '-n', 'team', '--', 'true'], /User "vera" cannot create resource "pods\/exec"/],
    [['apply', '-f', '-', '-n', 'team'], /User "vera" cannot create resource "pods"/],
    [['get', 'pods', '-n', 'default'], /User "vera" cannot list resource "pods" in API group "" in the namespace "default"/],
  ] as const) {
    const r = await asVera([...args], args[0] === 'apply' ? pod('mine') : undefined);
    assert.equal(r.exitCode, 1, `vera: corelet ${args.join(' ')} should be refused`);
    assert.match(r.stderr, verb);
  }
  const canI = await asVera(['auth', 'can-i', 'delete', 'pods', '-n', 'team']);
  assert.equal(canI.exitCode, 1);
  assert.match(canI.stdout, /^no/);
  assert.ok(await cluster.api('/api/v1/namespaces/team/pods/plain').then((r) => r.status === 200), 'nothing was deleted');

  // restricted: a privileged pod is refused with the Pod Security Standards' words; the plain pod stays
  await cluster.corelet(['label', 'namespace', 'team', 'pod-security.kubernetes.io/enforce=restricted', '--overwrite']);
  const privileged = text(await cluster.corelet(['apply', '-f', '-'], { reject: false, input: pod('root', '    securityContext: {privileged: true}\n') }));
  assert.equal(privileged.exitCode, 1);
  assert.match(privileged.stderr, /pods "root" is forbidden: violates PodSecurity "restricted:latest": .*privileged \(container "main" must not set securityContext\.privileged=true\)/);

  // the agent's port: /healthz for anyone, 401 for a client without a certificate of the cluster CA
  const config = await readAdminConfig(join(cluster.dir, 'admin-config'));
  const caFile = join(cluster.root, 'ca-trust.pem');
  await writeFile(caFile, config.caCert);
  const node = cluster.nodes[0]!;
  const curl = (path: string) => execa('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', caFile, `https://${node.ip}:10250${path}`], { reject: false });
  assert.equal((await curl('/healthz')).stdout, '200');
  assert.equal((await curl('/pods')).stdout, '401');

  await cluster.corelet(['delete', 'namespace', 'team']);
});

test("kill one node's agent and runtime: within a minute it is NotReady and its Deployment pods run elsewhere", async (t) => {
  // The Deployments' pods (6): zeus-db-0 is a StatefulSet pod whose volume keeps it on its node.
  const deployed = (pods: ApiPod[]) => pods.filter((p) => p.metadata.labels?.app !== 'zeus-db');
  const zeusNow = deployed(await cluster.pods({ labelSelector: ZEUS }));
  const victim = zeusNow.find((p) => p.metadata.labels?.app === 'zeus-api')!.spec.nodeName!;
  const lost = zeusNow.filter((p) => p.spec.nodeName === victim).map((p) => p.metadata.name);
  const started = Date.now();
  await cluster.daemon('kill', victim);
  await cluster.waitFor(`${victim} NotReady`, async () => {
    const node = (await cluster.api<{ status: { conditions: { type: string; status: string }[] } }>(`/api/v1/nodes/${victim}`)).json;
    return node.status.conditions.some((c) => c.type === 'Ready' && c.status !== 'True');
  }, 60_000);
  const notReadyAfter = Date.now() - started;
  // Graceful deletion: the lost node's pods stay Terminating (they may still run there), while the
  // ReplicaSets, which count them as not active, make replacements at once.
  const live = (pods: ApiPod[]) => pods.filter((p) => p.metadata.deletionTimestamp === undefined);
  await cluster.waitFor(`replacements of ${lost.join(', ')} bound to other nodes`, async () => {
    const pods = live(deployed(await cluster.pods({ labelSelector: ZEUS })));
    return pods.length === 6 && pods.every((p) => p.spec.nodeName && p.spec.nodeName !== victim);
  }, 60_000 - notReadyAfter + 5_000);
  const movedAfter = Date.now() - started;
  t.diagnostic(`${victim} NotReady after ${(notReadyAfter / 1000).toFixed(1)} s; its pods bound elsewhere after ${(movedAfter / 1000).toFixed(1)} s`);
  const terminating = deployed(await cluster.pods({ labelSelector: ZEUS })).filter((p) => p.metadata.deletionTimestamp !== undefined);
  assert.deepEqual(terminating.map((p) => p.metadata.name).sort(), [...lost].sort(), 'the lost pods stay Terminating on the unreachable node');
  assert.ok(terminating.every((p) => p.spec.nodeName === victim));
  const listed = String((await cluster.corelet(['get', 'pods', '-l', ZEUS])).stdout);
  for (const name of lost) assert.match(listed, new RegExp(`^${name}\\s.*\\sTerminating\\s`, 'm'), `get pods shows ${name} Terminating`);
  await cluster.waitFor('6 Ready live pods', async () => {
    const pods = live(deployed(await cluster.pods({ labelSelector: ZEUS })));
    const ready = pods.filter((p) => p.status?.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    return pods.length === 6 && ready.length === 6;
  }, 180_000);
  // The node comes back: its agent stops what it still ran of the lost pods and confirms; they go.
  await cluster.daemon('start', victim);
  await cluster.waitFor(`the Terminating pods of ${victim} removed once it confirms`, async () => {
    const pods = deployed(await cluster.pods({ labelSelector: ZEUS }));
    return pods.length === 6 && pods.every((p) => p.metadata.deletionTimestamp === undefined && p.spec.nodeName !== victim);
  }, 120_000);
  // zeus-db-0 too, wherever its volume is (back on the victim if it was there)
  const pods = await cluster.waitForReadyPods(ZEUS, 7);
  assert.ok(deployed(pods).every((p) => p.spec.nodeName !== victim));
});
