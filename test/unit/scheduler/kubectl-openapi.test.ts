/**
 * The real kubectl (v1.36, /opt/k8s/bin/kubectl as native-scripts/install-deps.sh builds it, or
 * $KUBECTL) against the REST API in-process: `kubectl explain` reads /openapi/v3, `kubectl apply`
 * leaves validation to the server (?fieldValidation=Strict) and sees a typo refused. Skipped when
 * kubectl is not installed, or when the API serves no discovery (/apis/apps/v1), which kubectl needs
 * to find a resource before anything else.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Pki } from '../../../src/scheduler/auth/index.js';
import { tempDir, tempStore } from './store-helpers.js';
import { api, makePki, makeTokens, startApiServer } from './server-helpers.js';

const KUBECTL = process.env.KUBECTL ?? '/opt/k8s/bin/kubectl';
const EXAMPLES = fileURLToPath(new URL('../../../../examples/', import.meta.url));

function kubectl(dir: string, args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(KUBECTL, args, { env: { PATH: process.env.PATH, HOME: dir, KUBECONFIG: join(dir, 'kubeconfig') } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

describe('kubectl explain and apply against /openapi/v3', { skip: !existsSync(KUBECTL) && `no kubectl at ${KUBECTL}` }, () => {
  let pki: Pki;
  before(async () => {
    pki = await makePki();
  });

  it('explains deployment.spec and pod.spec.containers.resources, applies examples/ with server-side validation, refuses an unknown field', async (t) => {
    const { store } = tempStore(t);
    const tokens = makeTokens();
    const server = await startApiServer(t, store, pki, tokens.lookup);
    if ((await api(server, pki, 'GET', '/apis/apps/v1', { token: tokens.api })).status !== 200) {
      t.skip('the API serves no discovery (/apis/apps/v1)');
      return;
    }
    const dir = tempDir(t);
    mkdirSync(dir, { recursive: true });
    const ca = Buffer.from(pki.ca.certPem).toString('base64');
    writeFileSync(
      join(dir, 'kubeconfig'),
      [
        'apiVersion: v1',
        'kind: Config',
        `clusters: [{name: c, cluster: {server: "${server.url}", certificate-authority-data: ${ca}}}]`,
        `users: [{name: u, user: {token: "${tokens.api}"}}]`,
        'contexts: [{name: c, context: {cluster: c, user: u}}]',
        'current-context: c',
        '',
      ].join('\n'),
    );

    const spec = await kubectl(dir, ['explain', 'deployment.spec']);
    assert.equal(spec.code, 0, spec.stderr);
    assert.match(spec.stdout, /^GROUP: {6}apps\nKIND: {7}Deployment\nVERSION: {4}v1\n/);
    assert.match(spec.stdout, /FIELD: spec <DeploymentSpec>/);
    assert.match(spec.stdout, /\n {2}template\t<PodTemplateSpec> -required-\n {4}The pods this Deployment makes\./);
    const resources = await kubectl(dir, ['explain', 'pod.spec.containers.resources']);
    assert.equal(resources.code, 0, resources.stderr);
    assert.match(resources.stdout, /FIELD: resources <ResourceRequirements>/);
    assert.match(resources.stdout, /\n {2}limits\t<map\[string\]Quantity>\n/);

    const applied = await kubectl(dir, ['apply', '-f', EXAMPLES]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.equal(applied.stderr, '');
    assert.match(applied.stdout, /^deployment\.apps\/zeus-api created$/m);
    assert.match(applied.stdout, /^statefulset\.apps\/zeus-db created$/m);
    assert.ok(store.get('Deployment', 'default', 'zeus-api'));

    const typo = 'apiVersion: v1\nkind: Pod\nmetadata: {name: typo}\nspec:\n  containers:\n  - {name: app, image: "busybox:1.36", imagePullPolice: Always}\n';
    const strict = await kubectl(dir, ['apply', '-f', '-'], typo);
    assert.equal(strict.code, 1);
    assert.match(strict.stderr, /Error from server \(BadRequest\): .*Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec\.containers\[0\]\.imagePullPolice"/);
    assert.equal(store.get('Pod', 'default', 'typo'), undefined);
    const warned = await kubectl(dir, ['apply', '--validate=warn', '-f', '-'], typo);
    assert.equal(warned.code, 0, warned.stderr);
    assert.equal(warned.stderr, 'Warning: unknown field "spec.containers[0].imagePullPolice"\n');
  });
});
