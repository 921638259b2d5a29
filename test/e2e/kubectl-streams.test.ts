/**
 * The real kubectl (v1.36, /opt/k8s/bin/kubectl or $KUBECTL) streaming against a 2-node
 * `cluster.sh up` cluster, as a user would: `exec` (exit code, stdin, a TTY with its size), `logs`
 * (--tail, -f, --previous), `port-forward` and `rollout status|history|undo`. kubectl talks to the
 * scheduler with a kubeconfig written from the admin's CLI config; its discovery cache goes to the
 * cluster's temp HOME. Skipped without kubectl.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { ClusterHarness } from '../helpers/cluster-harness.js';
import { readAdminConfig } from '../helpers/admin-config.js';

const KUBECTL = process.env.KUBECTL ?? '/opt/k8s/bin/kubectl';
let cluster: ClusterHarness;
let kubeconfig: string;

const BOX = `apiVersion: v1
kind: Pod
metadata: {name: box}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: corelet.local/zeus/api:1.0
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "mkdir -p /www && echo hello-from-box > /www/index.html && httpd -p 8080 -h /www; i=0; while true; do i=$((i+1)); echo line $i; sleep 1; done"]
    resources: {requests: {cpu: 10m, memory: 8Mi}}
`;

function deployment(image: string, cause: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations: {kubernetes.io/change-cause: "${cause}"}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: ${image}
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "while true; do sleep 1; done"]
        resources: {requests: {cpu: 10m, memory: 8Mi}}
`;
}

function kubectl(args: string[], opts: { input?: string; timeoutMs?: number; env?: Record<string, string> } = {}) {
  return execa(KUBECTL, args, { env: { KUBECONFIG: kubeconfig, HOME: cluster.home, ...opts.env }, reject: false, input: opts.input, timeout: opts.timeoutMs ?? 120_000 });
}

before(async () => {
  assert.ok(existsSync(KUBECTL), `${KUBECTL} is missing: run native-scripts/install-deps.sh --test (it builds kubectl), or set KUBECTL`);
  cluster = await ClusterHarness.up(2);
  await cluster.loadExampleImages();
  const admin = await readAdminConfig(join(cluster.dir, 'admin-config'));
  kubeconfig = join(cluster.root, 'kubeconfig');
  await writeFile(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: admin.server, 'certificate-authority-data': Buffer.from(admin.caCert).toString('base64') } }],
      users: [{ name: 'admin', user: { token: admin.token } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'admin', namespace: 'default' } }],
      'current-context': 'c',
    }),
    { mode: 0o600 },
  );
  await cluster.corelet(['apply', '-f', '-'], { input: BOX });
  await cluster.waitFor('box to print its third log line', async () => /line 3\n/.test(String((await kubectl(['logs', 'box'])).stdout)), 120_000);
});

after(async () => {
  if (!cluster) return;
  const left = await cluster.down();
  assert.deepEqual(left, { netns: [], links: [], processes: [], cgroups: [], mounts: [], stateDir: [] }, 'cluster.sh down left something behind');
});

test('kubectl exec: output, the exit code, stdin to its end, and a TTY of the terminal\'s size', async () => {
  const ok = await kubectl(['exec', 'box', '--', 'sh', '-c', 'echo out; echo err >&2']);
  assert.deepEqual([ok.exitCode, ok.stdout, ok.stderr], [0, 'out', 'err']);
  const failed = await kubectl(['exec', 'box', '--', 'sh', '-c', 'exit 3']);
  assert.equal(failed.exitCode, 3);
  assert.equal(failed.stderr, 'command terminated with exit code 3');
  const stdin = await kubectl(['exec', '-i', 'box', '--', 'sh', '-c', 'wc -l; echo done'], { input: 'a\nb\nc\n' });
  assert.deepEqual([stdin.exitCode, stdin.stdout.replace(/\s+/g, ' ').trim()], [0, '3 done']);
  // A real terminal (script(1) gives kubectl a pty) of 37 rows and 101 columns: the container's TTY has that size.
  const tty = await execa('script', ['-qec', `stty rows 37 cols 101; ${KUBECTL} exec -it box -- sh -c 'stty size; tty; exit 7'`, '/dev/null'], { env: { KUBECONFIG: kubeconfig, HOME: cluster.home }, reject: false, timeout: 60_000 });
  assert.match(tty.stdout, /^37 101\r?$/m);
  assert.match(tty.stdout, /^\/dev\/pts\/\d+\r?$/m);
  assert.equal(tty.exitCode, 7);
  // kubectl's SPDY/3.1 fallback (an upgraded POST) works too.
  const spdy = await kubectl(['exec', 'box', '--', 'sh', '-c', 'echo spdy; exit 5'], { env: { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' } });
  assert.deepEqual([spdy.exitCode, spdy.stdout], [5, 'spdy']);
  const noContainer = await kubectl(['exec', 'box', '-c', 'nope', '--', 'true']);
  assert.equal(noContainer.exitCode, 1);
  assert.match(noContainer.stderr, /container nope is not valid for pod box/);
});

test('kubectl logs: --tail, -f as lines come, --timestamps, --previous of a container that never restarted', async () => {
  const tail = await kubectl(['logs', 'box', '--tail=2']);
  assert.equal(tail.exitCode, 0);
  assert.match(tail.stdout, /^line \d+\nline \d+$/);
  const stamped = await kubectl(['logs', 'box', '--tail=1', '--timestamps', '-c', 'main']);
  assert.match(stamped.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z line \d+$/);
  const previous = await kubectl(['logs', 'box', '--previous']);
  assert.equal(previous.exitCode, 1);
  assert.match(previous.stderr, /^Error from server \(BadRequest\): container main in pod default\/box has not restarted/);

  // -f: the last line at once, then new lines as the container prints them.
  const follow = spawn(KUBECTL, ['logs', '-f', 'box', '--tail=1'], { env: { KUBECONFIG: kubeconfig, HOME: cluster.home } });
  let text = '';
  follow.stdout.on('data', (d: Buffer) => (text += d.toString('utf8')));
  try {
    await cluster.waitFor('kubectl logs -f to print three lines', async () => text.split('\n').filter((l) => /^line \d+$/.test(l)).length >= 3, 30_000, async () => text);
  } finally {
    follow.kill();
  }
  const numbers = text.split('\n').filter(Boolean).map((l) => Number(l.slice('line '.length)));
  assert.deepEqual(numbers.slice(1, 3), [numbers[0]! + 1, numbers[0]! + 2], `consecutive lines: ${text}`);
});

for (const [how, env] of [
  ['tunnelled in a WebSocket', {}],
  ['over SPDY/3.1', { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' }],
] as const) {
  test(`kubectl port-forward pod/box reaches its port 8080 from the host (${how})`, async () => {
    const pf = spawn(KUBECTL, ['port-forward', 'pod/box', ':8080'], { env: { KUBECONFIG: kubeconfig, HOME: cluster.home, ...env } });
    let out = '';
    pf.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    pf.stderr.on('data', (d: Buffer) => (out += d.toString('utf8')));
    try {
      const port = await cluster.waitFor('port-forward to listen', async () => /Forwarding from 127\.0\.0\.1:(\d+) -> 8080/.exec(out)?.[1], 30_000, async () => out);
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`http://127.0.0.1:${port}/index.html`, { signal: AbortSignal.timeout(10_000) });
        assert.equal(await res.text(), 'hello-from-box\n');
      }
    } finally {
      pf.kill();
    }
  });
}

test('kubectl rollout status, history with change-causes, undo back to the previous image', async () => {
  await cluster.corelet(['apply', '-f', '-'], { input: deployment('corelet.local/zeus/api:1.0', 'first') });
  const first = await kubectl(['rollout', 'status', 'deployment/web', '--timeout=120s']);
  assert.equal(first.exitCode, 0, first.stderr);
  assert.match(first.stdout, /deployment "web" successfully rolled out$/);
  await cluster.corelet(['apply', '-f', '-'], { input: deployment('corelet.local/zeus/api:1.1', 'to 1.1') });
  assert.equal((await kubectl(['rollout', 'status', 'deployment/web', '--timeout=120s'])).exitCode, 0);
  const history = await kubectl(['rollout', 'history', 'deployment/web']);
  assert.match(history.stdout, /^1\s+first$/m);
  assert.match(history.stdout, /^2\s+to 1\.1$/m);

  const undo = await kubectl(['rollout', 'undo', 'deployment/web']);
  assert.equal(undo.stdout, 'deployment.apps/web rolled back', undo.stderr);
  assert.equal((await kubectl(['rollout', 'status', 'deployment/web', '--timeout=120s'])).exitCode, 0);
  const image = await kubectl(['get', 'deployment', 'web', '-o', 'jsonpath={.spec.template.spec.containers[0].image}']);
  assert.equal(image.stdout, 'corelet.local/zeus/api:1.0');
  const later = await kubectl(['rollout', 'history', 'deployment/web']);
  assert.match(later.stdout, /^2\s+to 1\.1$/m);
  assert.match(later.stdout, /^3\s+first$/m, 'revision 1 came back as 3 with its change-cause');
  const missing = await kubectl(['rollout', 'undo', 'deployment/web', '--to-revision=9']);
  assert.equal(missing.exitCode, 1);
  assert.match(missing.stderr, /unable to find specified revision 9 in history/);
});
