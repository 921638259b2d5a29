/**
 * The CLI's cluster commands against an in-process scheduler server, as a user runs them (the CLI
 * run in this process with its own streams and environment: run-cli.ts; cli-binary.test.ts runs the
 * binary itself): config from $CORELET_CONFIG, apply, get (tables, -o json, -w), describe, scale,
 * cordon, drain, delete, logs and exec (through a fake pod proxy), and the errors that tell what to do.
 */
import { before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { Pod } from '../../../src/api/index.js';
import type { Pki } from '../../../src/scheduler/auth/index.js';
import type { PodExecOptions, PodLogOptions, PodProxy } from '../../../src/scheduler/server/index.js';
import type { Store } from '../../../src/scheduler/store/index.js';
import { tempStore } from '../scheduler/store-helpers.js';
import { confirmPodTerminated } from '../../../src/scheduler/controllers/index.js';
import { makePki, makeTokens, podYaml, startApiServer, startServer } from '../scheduler/server-helpers.js';
import { freePort } from '../../helpers/free-port.js';
import { cli, cliRunning } from './run-cli.js';

const deploymentYaml = `apiVersion: apps/v1
kind: Deployment
metadata: { name: front }
spec:
  replicas: 2
  selector: { matchLabels: { app: front } }
  template:
    metadata: { labels: { app: front } }
    spec: { containers: [{ name: c, image: busybox }] }
`;

/** A temp folder with a CLI config for the server, removed when the test ends. */
function setup(t: TestContext, server: { url: string }, pki: Pki, token: string): { dir: string; env: Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), 'corelet-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ server: server.url, token, caCert: pki.ca.certPem }));
  return { dir, env: { CORELET_CONFIG: config, HOME: dir } };
}


function addNode(store: Store, name: string): void {
  store.create('Node', {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: {} },
    spec: { taints: [], unschedulable: false },
    status: { capacity: { cpu: '4' }, allocatable: { cpu: '4' }, conditions: [{ type: 'Ready', status: 'True' }], addresses: [{ type: 'InternalIP', address: '10.0.0.9' }], nodeInfo: { kubeletVersion: '0.1.0' } },
  } as never);
}


describe('the corelet CLI', () => {
  let pki: Pki;
  before(async () => {
    pki = await makePki();
  });

  it('applies manifests, lists them as tables and JSON, scales, describes and deletes', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startServer(t, store, pki, tokens.lookup);
    const { dir, env } = setup(t, server, pki, tokens.api);

    const empty = await cli(env, ['get', 'pods', '-o', 'json']);
    assert.equal(empty.exitCode, 0, empty.stderr);
    assert.deepEqual(JSON.parse(empty.stdout), { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: [] });
    const none = await cli(env, ['get', 'po']);
    assert.equal(none.stderr, 'No resources found in default namespace.');

    const manifests = join(dir, 'manifests');
    mkdirSync(manifests);
    writeFileSync(join(manifests, '2-front.yaml'), deploymentYaml);
    writeFileSync(join(manifests, '1-web.yml'), podYaml('web'));
    writeFileSync(join(manifests, 'README.md'), 'not a manifest');
    const applied = await cli(env, ['apply', '-f', manifests]);
    assert.equal(applied.exitCode, 0, applied.stderr);
    assert.equal(applied.stdout, 'pod/web created\ndeployment.apps/front created');
    const again = await cli(env, ['apply', '-f', '-'], podYaml('web'));
    assert.equal(again.stdout, 'pod/web unchanged');
    const missing = await cli(env, ['apply', '-n', 'team', '-f', join(manifests, '1-web.yml')]);
    assert.equal(missing.exitCode, 1);
    assert.match(missing.stderr, /namespaces "team" not found/);
    const ns = await cli(env, ['create', 'namespace', 'team']);
    assert.equal(ns.exitCode, 0, ns.stderr);
    assert.equal(ns.stdout, 'namespace/team created');
    const namespaces = await cli(env, ['get', 'ns']);
    assert.match(namespaces.stdout, /^NAME +STATUS +AGE\ndefault +Active +\d+s\nkube-system +Active +\d+s\nteam +Active +\d+s$/);
    const team = await cli(env, ['apply', '-n', 'team', '-f', join(manifests, '1-web.yml')]);
    assert.equal(team.stdout, 'pod/web created');
    assert.ok(store.get('Pod', 'team', 'web'));

    const table = await cli(env, ['get', 'pods']);
    assert.equal(table.exitCode, 0, table.stderr);
    const lines = table.stdout.split('\n');
    assert.match(lines[0], /^NAME +READY +STATUS +RESTARTS +AGE$/);
    assert.match(lines[1], /^web +0\/1 +Pending +0 +\d+s$/);
    assert.equal(lines.length, 2);
    const all = await cli(env, ['get', 'po', '-A', '-o', 'name']);
    assert.equal(all.stdout, 'pod/web\npod/web');
    const one = await cli(env, ['get', 'pod/web', '-o', 'json']);
    assert.equal(JSON.parse(one.stdout).metadata.name, 'web');
    const deploys = await cli(env, ['get', 'deploy', '-o', 'yaml']);
    assert.match(deploys.stdout, /^apiVersion: v1\nkind: List\n(.*\n)*items:\n {2}- apiVersion: apps\/v1\n {4}kind: Deployment\n/);

    const scaled = await cli(env, ['scale', 'deployment', 'front', '--replicas', '4']);
    assert.equal(scaled.exitCode, 0, scaled.stderr);
    assert.equal(scaled.stdout, 'deployment.apps/front scaled');
    assert.equal(store.get<any>('Deployment', 'default', 'front').spec.replicas, 4);
    const badScale = await cli(env, ['scale', 'po', 'web', '--replicas', '2']);
    assert.equal(badScale.exitCode, 1);
    assert.match(badScale.stderr, /only deployments and statefulsets can be scaled/);

    const described = await cli(env, ['describe', 'deploy', 'front']);
    assert.equal(described.exitCode, 0, described.stderr);
    assert.match(described.stdout, /^Name: +front$/m);
    assert.match(described.stdout, /^Replicas: +4 desired/m);
    assert.match(described.stdout, /^Events: +<none>$/m);

    const deleted = await cli(env, ['delete', '-f', join(manifests, '2-front.yaml')]);
    assert.equal(deleted.stdout, 'deployment.apps "front" deleted');
    const gone = await cli(env, ['delete', 'pod', 'web', 'ghost']);
    assert.equal(gone.exitCode, 1);
    assert.equal(gone.stdout, 'pod "web" deleted');
    assert.match(gone.stderr, /pod "ghost" not found in namespace default/);
    assert.equal((await cli(env, ['delete', 'pod', 'ghost', '--ignore-not-found'])).exitCode, 0);
  });

  it('creates, labels, describes and deletes namespaces; Pod Security refusals and warnings reach the user', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startServer(t, store, pki, tokens.lookup);
    const { env } = setup(t, server, pki, tokens.api);
    assert.equal((await cli(env, ['create', 'ns', 'team'])).stdout, 'namespace/team created');
    const labelled = await cli(env, ['label', 'ns', 'team', 'pod-security.kubernetes.io/enforce=restricted']);
    assert.equal(labelled.exitCode, 0, labelled.stderr);
    assert.equal(labelled.stdout, 'namespace/team labeled');
    const again = await cli(env, ['label', 'namespace', 'team', 'pod-security.kubernetes.io/enforce=baseline']);
    assert.equal(again.exitCode, 1);
    assert.match(again.stderr, /'pod-security\.kubernetes\.io\/enforce' already has a value \(restricted\), and --overwrite is false/);
    const invalid = await cli(env, ['label', 'ns', 'team', 'pod-security.kubernetes.io/enforce=strict', '--overwrite']);
    assert.equal(invalid.exitCode, 1);
    assert.match(invalid.stderr, /invalid value "strict": must be one of privileged, baseline, restricted/);
    const described = await cli(env, ['describe', 'ns', 'team']);
    assert.equal(described.exitCode, 0, described.stderr);
    assert.match(described.stdout, /^Name: +team$/m);
    assert.match(described.stdout, /^Labels: +pod-security\.kubernetes\.io\/enforce=restricted$/m);
    assert.match(described.stdout, /^Status: +Active$/m);
    assert.match(described.stdout, /^Pod Security: +enforce restricted$/m);

    const refused = await cli(env, ['apply', '-n', 'team', '-f', '-'], podYaml('web'));
    assert.equal(refused.exitCode, 1);
    assert.match(refused.stderr, /pods "web" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false \(container "c" must set securityContext\.allowPrivilegeEscalation=false\)/);
    const warned = await cli(env, ['apply', '-n', 'team', '-f', '-'], deploymentYaml);
    assert.equal(warned.exitCode, 0, warned.stderr);
    assert.equal(warned.stdout, 'deployment.apps/front created');
    assert.match(warned.stderr, /^Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false/m);

    const relaxed = await cli(env, ['label', 'ns', 'team', 'pod-security.kubernetes.io/enforce-']);
    assert.equal(relaxed.stdout, 'namespace/team labeled');
    assert.equal((await cli(env, ['apply', '-n', 'team', '-f', '-'], podYaml('web'))).stdout, 'pod/web created');
    const deleted = await cli(env, ['delete', 'ns', 'team']);
    assert.equal(deleted.stdout, 'namespace "team" deleted');
    assert.equal(store.get('Pod', 'team', 'web'), undefined, 'the namespace took its pods with it');
    assert.equal(store.get('Deployment', 'team', 'front'), undefined);
    const builtin = await cli(env, ['delete', 'ns', 'default']);
    assert.equal(builtin.exitCode, 1);
    assert.match(builtin.stderr, /namespaces "default" is forbidden: this namespace may not be deleted/);
  });

  it('cordons, uncordons and drains a node, leaving DaemonSet pods', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startServer(t, store, pki, tokens.lookup);
    const { env } = setup(t, server, pki, tokens.api);
    addNode(store, 'n1');

    const cordoned = await cli(env, ['cordon', 'n1']);
    assert.equal(cordoned.exitCode, 0, cordoned.stderr);
    assert.equal(cordoned.stdout, 'node/n1 cordoned');
    const nodes = await cli(env, ['get', 'no']);
    assert.match(nodes.stdout.split('\n')[1], /^n1 +Ready,SchedulingDisabled +<none> +\d+s +0\.1\.0$/);
    assert.equal((await cli(env, ['cordon', 'node/n1'])).stdout, 'node/n1 already cordoned');
    assert.equal((await cli(env, ['uncordon', 'n1'])).stdout, 'node/n1 uncordoned');
    assert.equal(store.get<any>('Node', '', 'n1').spec.unschedulable, false);

    for (const name of ['web', 'api', 'agent']) store.create('Pod', { ...(JSON.parse(JSON.stringify({ metadata: { name, namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } }))) });
    store.mutate('Pod', 'default', 'agent', (p) => {
      p.metadata.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agents', uid: 'ds-uid', controller: true }];
    });
    for (const name of ['web', 'api', 'agent']) store.bindPod('default', name, 'n1');
    // What n1's agent does with the pods drain deletes: stops them and confirms (graceful deletion).
    const seen: string[] = [];
    const agent = setInterval(() => {
      for (const p of store.list<Pod>('Pod', { nodeName: 'n1' })) {
        if (p.metadata.deletionTimestamp === undefined) continue;
        seen.push(p.metadata.name);
        confirmPodTerminated(store, 'n1', p.metadata.uid);
      }
    }, 20);
    t.after(() => clearInterval(agent));
    const drained = await cli(env, ['drain', 'n1', '--timeout', '30s']);
    clearInterval(agent);
    assert.equal(drained.exitCode, 0, drained.stderr);
    assert.deepEqual([...new Set(seen)].sort(), ['api', 'web'], 'the pods went Terminating first');
    const out = drained.stdout.split('\n');
    assert.equal(out[0], 'node/n1 cordoned');
    assert.equal(out[1], 'Warning: ignoring DaemonSet-managed Pods: default/agent');
    assert.deepEqual(out.slice(2, 4).sort(), ['evicting pod default/api', 'evicting pod default/web']);
    assert.equal(out.at(-1), 'node/n1 drained');
    assert.deepEqual(store.list('Pod').map((p) => p.metadata.name), ['agent']);
    assert.equal(store.get<any>('Node', '', 'n1').spec.unschedulable, true);
  });

  it('get -w prints the table, then a row per change', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startServer(t, store, pki, tokens.lookup);
    const { env } = setup(t, server, pki, tokens.api);
    store.create('Pod', { metadata: { name: 'first', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } as never);

    const watch = cliRunning(env, ['get', 'pods', '-w']);
    t.after(() => watch.stop());
    const lines = async (n: number) => {
      await watch.waitFor(new RegExp(`^(.*\\n){${n}}`));
      return watch.stdout().split('\n').slice(0, n);
    };
    const [header, first] = await lines(2);
    assert.match(header, /^NAME +READY +STATUS +RESTARTS +AGE$/);
    assert.match(first, /^first +0\/1 +Pending/);
    assert.equal(first.indexOf('0/1'), header.indexOf('READY'), 'rows align under the header');
    store.create('Pod', { metadata: { name: 'later', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } as never);
    store.delete('Pod', 'default', 'first');
    const [, , second, deleted] = await lines(4);
    assert.match(second, /^later +0\/1 +Pending/);
    assert.equal(second.indexOf('0/1'), header.indexOf('READY'));
    assert.match(deleted, /^first /);
    assert.deepEqual(await watch.stop(), { exitCode: 0, failed: false }, 'interrupted, it ends quietly');
  });

  it('prints logs and runs exec with the command’s exit code', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const calls: string[] = [];
    const proxy: PodProxy = {
      async logs(p: Pod, opts: PodLogOptions, out: Writable) {
        calls.push(`logs ${p.metadata.name} tail=${opts.tailLines} container=${opts.container}`);
        out.write('hello\nworld\n');
      },
      async exec(p: Pod, opts: PodExecOptions) {
        calls.push(`exec ${p.metadata.name} ${opts.command.join(' ')}`);
        return { stdout: 'out\n', stderr: 'err\n', exitCode: 3 };
      },
    };
    const server = await startApiServer(t, store, pki, tokens.lookup, { podProxy: proxy });
    const { env } = setup(t, server, pki, tokens.api);
    store.create('Pod', { metadata: { name: 'web', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } as never);

    const notBound = await cli(env, ['logs', 'web']);
    assert.equal(notBound.exitCode, 1);
    assert.match(notBound.stderr, /not scheduled to a node yet/);
    store.bindPod('default', 'web', 'n1');
    const logs = await cli(env, ['logs', 'pod/web', '--tail', '2', '-c', 'c']);
    assert.equal(logs.exitCode, 0, logs.stderr);
    assert.equal(logs.stdout, 'hello\nworld');
    const ran = await cli(env, ['exec', 'web', '--', 'sh', '-c', 'exit 3']);
    assert.equal(ran.exitCode, 3);
    assert.equal(ran.stdout, 'out');
    assert.equal(ran.stderr, 'err');
    assert.deepEqual(calls, ['logs web tail=2 container=c', 'exec web sh -c exit 3']);
    const noCommand = await cli(env, ['exec', 'web']);
    assert.equal(noCommand.exitCode, 1);
    assert.match(noCommand.stderr, /say what to run after --/);
  });

  it('loads each daemon command when it is named: its --help answers', async () => {
    for (const daemon of ['runtime', 'images', 'agent', 'scheduler', 'up']) {
      const help = await cli({}, [daemon, '--help']);
      assert.equal(help.exitCode, 0, help.stderr);
      assert.match(help.stdout, new RegExp(`^Usage: corelet ${daemon} `), daemon);
    }
    const unknown = await cli({}, ['runtime', '--bogus']);
    assert.equal(unknown.exitCode, 1);
    assert.equal(unknown.stderr, "error: unknown option '--bogus'");
  });

  it('fails with exit code 1 and says what to do', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startServer(t, store, pki, tokens.lookup);
    const { dir, env } = setup(t, server, pki, tokens.api);

    const noConfig = await cli({ HOME: dir }, ['get', 'pods']);
    assert.equal(noConfig.exitCode, 1);
    assert.match(noConfig.stderr, /no cluster configured .*run `corelet scheduler init` or pass --server and --token/);
    const badToken = await cli(env, ['get', 'pods', '--token', 'abcdef.0123456789abcdef']);
    assert.equal(badToken.exitCode, 1);
    assert.match(badToken.stderr, /the scheduler rejected the token/);
    const port = await freePort();
    const refused = await cli(env, ['get', 'nodes', '--server', `https://127.0.0.1:${port}`]);
    assert.equal(refused.exitCode, 1);
    assert.match(refused.stderr, new RegExp(`is the scheduler running at https://127\\.0\\.0\\.1:${port}\\?`));
    const untrusted = await cli({ HOME: dir }, ['get', 'nodes', '--server', server.url, '--token', tokens.api]);
    assert.equal(untrusted.exitCode, 1);
    assert.match(untrusted.stderr, /is not trusted .*--ca-cert/);
    const insecure = await cli({ HOME: dir }, ['get', 'nodes', '--server', server.url, '--token', tokens.api, '--insecure-skip-tls-verify']);
    assert.equal(insecure.exitCode, 0, insecure.stderr);
    const unknownKind = await cli(env, ['get', 'widgets']);
    assert.equal(unknownKind.exitCode, 1);
    assert.match(unknownKind.stderr, /unknown resource type "widgets"/);
    const missing = await cli(env, ['get', 'pod', 'ghost']);
    assert.equal(missing.exitCode, 1);
    assert.match(missing.stderr, /pods "ghost" not found/);
    const badFile = join(dir, 'bad.yaml');
    writeFileSync(badFile, 'apiVersion: v1\nkind: Pod\nmetadata: { name: Bad_Name }\nspec: { containers: [] }\n');
    const invalid = await cli(env, ['apply', '-f', badFile]);
    assert.equal(invalid.exitCode, 1);
    assert.match(invalid.stderr, new RegExp(`${badFile.replace(/[.]/g, '\\.')}.*metadata\\.name`));
    assert.doesNotMatch(invalid.stderr, /request body/);
    // A file the scheduler would refuse for its size is refused before it is sent, naming it and the limit.
    const bigFile = join(dir, 'big.yaml');
    writeFileSync(bigFile, `${'#'.repeat(3.2 * 1024 * 1024)}\n`);
    const big = await cli(env, ['apply', '-f', bigFile]);
    assert.equal(big.exitCode, 1);
    assert.match(big.stderr, new RegExp(`${bigFile.replace(/[.]/g, '\\.')} is 3\\.2 MiB, over the scheduler's limit of 3 MiB per request`));
  });
});
