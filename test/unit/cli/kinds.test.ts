import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectionPath, objectPath, parseTarget, resolveKind } from '../../../src/cli/kinds.js';

test("kubectl's names, singulars and short names all resolve, in any case", () => {
  const cases: [string, string][] = [
    ['po', 'Pod'],
    ['pod', 'Pod'],
    ['PODS', 'Pod'],
    ['Pod', 'Pod'],
    ['no', 'Node'],
    ['node', 'Node'],
    ['nodes', 'Node'],
    ['deploy', 'Deployment'],
    ['deployment', 'Deployment'],
    ['deployments.apps', 'Deployment'],
    ['rs', 'ReplicaSet'],
    ['sts', 'StatefulSet'],
    ['statefulset', 'StatefulSet'],
    ['ds', 'DaemonSet'],
    ['daemonsets', 'DaemonSet'],
    ['job', 'Job'],
    ['jobs.batch', 'Job'],
    ['ev', 'Event'],
    ['events', 'Event'],
  ];
  for (const [word, kind] of cases) assert.equal(resolveKind(word).kind, kind, word);
  assert.throws(() => resolveKind('widgets'), /unknown resource type "widgets": use one of pods \(po\), nodes \(no\), deployments \(deploy\)/);
});

test('targets are KIND NAME... or KIND/NAME...', () => {
  assert.deepEqual(parseTarget(['po', 'a', 'b']).names, ['a', 'b']);
  const slashed = parseTarget(['deploy/web', 'deployment/api']);
  assert.equal(slashed.info.kind, 'Deployment');
  assert.deepEqual(slashed.names, ['web', 'api']);
  assert.deepEqual(parseTarget(['nodes']).names, []);
  assert.throws(() => parseTarget(['pod/a', 'node/b']), /one resource type at a time/);
  assert.throws(() => parseTarget(['pod', 'pod/a']), /not both/);
  assert.throws(() => parseTarget(['pod/']), /KIND\/NAME/);
  assert.throws(() => parseTarget([]), /say what to act on/);
});

test('paths: namespaced kinds in a namespace or all of them, nodes at the top', () => {
  assert.equal(collectionPath(resolveKind('po'), 'team'), '/api/v1/namespaces/team/pods');
  assert.equal(collectionPath(resolveKind('po')), '/api/v1/pods');
  assert.equal(collectionPath(resolveKind('no'), 'team'), '/api/v1/nodes');
  assert.equal(objectPath(resolveKind('no'), 'team', 'n1'), '/api/v1/nodes/n1');
  assert.equal(objectPath(resolveKind('deploy'), 'default', 'web'), '/api/v1/namespaces/default/deployments/web');
});
