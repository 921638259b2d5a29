import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KINDS as REGISTRY, apiVersionOf, kindEntry, kindOfResource, OBJECT_API_VERSIONS, RBAC_API_VERSIONS } from '../../../src/api/index.js';
import { KINDS as CLI_KINDS, resolveKind } from '../../../src/cli/kinds.js';
import { RESOURCES } from '../../../src/scheduler/server/index.js';
import { API_VERSIONS, STORE_KINDS, isNamespaced } from '../../../src/scheduler/store/index.js';
import { CLUSTER_SCOPED_RESOURCES } from '../../../src/scheduler/rbac/index.js';
import { RESOURCE_GROUPS } from '../../../src/api/index.js';

const sorted = (xs: Iterable<string>) => [...xs].sort();

test('every kind the REST API serves is known to the CLI and the store, and back', () => {
  // The REST API serves RESOURCES through the shared routes, plus nodes and events on their own.
  const served = new Map<string, string>([...Object.entries(RESOURCES), ['nodes', 'Node'], ['events', 'Event']]);
  const cli = new Map(CLI_KINDS.map((k) => [k.resource, k.kind]));
  const stored = new Set<string>([...STORE_KINDS, 'Event']);
  assert.deepEqual(sorted(served.keys()), sorted(cli.keys()));
  for (const [resource, kind] of served) assert.equal(cli.get(resource), kind, resource);
  assert.deepEqual(sorted(stored), sorted(served.values()));
  assert.deepEqual(sorted(CLI_KINDS.map((k) => k.kind)), sorted(REGISTRY.map((k) => k.kind)));
});

test('the registry gives the CLI, the store and RBAC what they had before', () => {
  assert.deepEqual(resolveKind('deploy'), { kind: 'Deployment', resource: 'deployments', namespaced: true, display: 'deployment.apps', aliases: ['deploy', 'deployment', 'deployments'] });
  assert.deepEqual(resolveKind('clusterrole').display, 'clusterrole.rbac.authorization.k8s.io');
  assert.deepEqual(resolveKind('ev').aliases, ['ev', 'event', 'events']);
  assert.deepEqual(resolveKind('jobs.batch').aliases, ['job', 'jobs']);
  assert.equal(API_VERSIONS.Job, 'batch/v1');
  assert.equal(API_VERSIONS.ServiceAccount, 'v1');
  assert.equal(API_VERSIONS.RoleBinding, 'rbac.authorization.k8s.io/v1');
  assert.deepEqual(STORE_KINDS.filter((k) => !isNamespaced(k)), ['Node', 'Namespace', 'ClusterRole', 'ClusterRoleBinding']);
  assert.equal(RESOURCES.statefulsets, 'StatefulSet');
  assert.equal(RESOURCES.nodes, undefined);
  assert.equal(RESOURCE_GROUPS.daemonsets, 'apps');
  assert.equal(RESOURCE_GROUPS.pods, undefined);
  assert.equal(RESOURCE_GROUPS.cronjobs, 'batch');
  for (const r of ['nodes', 'namespaces', 'clusterroles', 'clusterrolebindings', 'tokenreviews']) assert.ok(CLUSTER_SCOPED_RESOURCES.has(r), r);
  assert.ok(!CLUSTER_SCOPED_RESOURCES.has('roles'));
});

test('the decoder and the RBAC types read their apiVersions from the registry', () => {
  for (const [kind, v] of Object.entries(OBJECT_API_VERSIONS)) assert.equal(v, apiVersionOf(kind as never), kind);
  for (const [kind, v] of Object.entries(RBAC_API_VERSIONS)) assert.equal(v, kindEntry(kind)?.group ? `${kindEntry(kind)?.group}/v1` : 'v1', kind);
  assert.equal(kindOfResource('daemonsets')?.kind, 'DaemonSet');
  assert.equal(kindOfResource('widgets'), undefined);
  assert.equal(kindEntry('Widget'), undefined);
});
