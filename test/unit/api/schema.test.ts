/**
 * The schema description itself (src/api/schema/): sound (every reference resolves, every kind has a
 * root type), published as Kubernetes publishes its types, and the strategic merge rules it implies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KINDS, openApiSchemaOf, patchMergeNodeOf, reachableTypes, schemaProblems, schemaTypeOfKind, unknownFieldPaths } from '../../../src/api/index.js';

test('every reference resolves, ids are unique and every kind of the registry has a root type with its group, version and kind', () => {
  assert.deepEqual(schemaProblems(), []);
  for (const k of KINDS) assert.deepEqual(schemaTypeOfKind(k.kind)?.gvk, { group: k.group, version: k.version, kind: k.kind });
  assert.ok(reachableTypes(['Deployment']).includes('Probe'));
});

test('types are published as OpenAPI v3 schemas the way Kubernetes names and shapes them', () => {
  const spec = openApiSchemaOf('DeploymentSpec') as any;
  assert.deepEqual(spec.required, ['selector', 'template']);
  assert.deepEqual(spec.properties.template.allOf, [{ $ref: '#/components/schemas/io.k8s.api.core.v1.PodTemplateSpec' }]);
  assert.equal(spec.properties.replicas.type, 'integer');
  assert.equal(spec.properties.replicas.format, 'int32');
  const podSpec = openApiSchemaOf('PodSpec') as any;
  assert.equal(podSpec.properties.containers['x-kubernetes-patch-merge-key'], 'name');
  assert.equal(podSpec.properties.containers['x-kubernetes-patch-strategy'], 'merge');
  assert.deepEqual(podSpec.properties.restartPolicy.enum, ['Always', 'OnFailure', 'Never']);
  // Quantities and IntOrString: one of several JSON types, no type of their own (kubectl explain names them).
  assert.deepEqual((openApiSchemaOf('Quantity') as any).oneOf, [{ type: 'string' }, { type: 'number' }]);
  assert.equal((openApiSchemaOf('IntOrString') as any)['x-kubernetes-int-or-string'], true);
  assert.deepEqual((openApiSchemaOf('Pod') as any)['x-kubernetes-group-version-kind'], [{ group: '', version: 'v1', kind: 'Pod' }]);
});

test('the strategic merge rules of a kind follow from its merge keys: containers by name, their ports by containerPort, ...', () => {
  const pod = patchMergeNodeOf('Pod');
  const spec = pod?.fields?.spec?.fields;
  assert.deepEqual(spec?.volumes, { merge: true, mergeKey: 'name' });
  assert.deepEqual(spec?.containers?.mergeKey, 'name');
  assert.deepEqual(spec?.containers?.items?.fields, {
    env: { merge: true, mergeKey: 'name' },
    ports: { merge: true, mergeKey: 'containerPort' },
    volumeMounts: { merge: true, mergeKey: 'mountPath' },
  });
  assert.deepEqual(patchMergeNodeOf('Service')?.fields?.spec, { fields: { ports: { merge: true, mergeKey: 'port' } } });
  assert.deepEqual(patchMergeNodeOf('Node')?.fields?.spec, { fields: { podCIDRs: { merge: true } } });
  assert.equal(patchMergeNodeOf('NoSuchKind'), undefined);
});

test('unknownFieldPaths names the fields the description lacks, anywhere but under what the server sets', () => {
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', lables: { a: 'b' }, labels: { 'app.kubernetes.io/name': 'web' }, managedFields: [{ anything: 1 }] },
    spec: { replicas: 1, template: { spec: { containers: [{ name: 'a', image: 'x', resources: { limits: { 'vendor.example/gpu': '1' } } }, { name: 'b', imagePullPolice: 'Always' }] } } },
    status: { whatever: true },
    extra: null,
  };
  assert.deepEqual(unknownFieldPaths('Deployment', deployment), ['metadata.lables', 'spec.template.spec.containers[1].imagePullPolice', 'extra']);
  assert.deepEqual(unknownFieldPaths('ClusterRole', { rules: [{ verbz: ['get'] }], aggregationRule: { anything: 1 } }), ['rules[0].verbz']);
});
