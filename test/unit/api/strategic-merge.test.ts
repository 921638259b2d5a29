/**
 * Strategic merge patch for the built-in kinds: keyed lists merge by their patch merge key, sets by
 * value, other lists are replaced; the $patch, $retainKeys, $deleteFromPrimitiveList and
 * $setElementOrder directives as kubectl sends them.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { strategicMergePatch } from '../../../src/api/index.js';

const deployment = () => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default', labels: { app: 'web' }, finalizers: ['a'] },
  spec: {
    replicas: 2,
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [
          { name: 'app', image: 'app:1', args: ['-a', '-b'], ports: [{ containerPort: 80, name: 'http' }, { containerPort: 9090 }], env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] },
          { name: 'sidecar', image: 'side:1' },
        ],
        tolerations: [{ key: 'x', operator: 'Exists' }],
      },
    },
  },
});

describe('strategic merge patch', () => {
  it('merges containers by name, ports by containerPort and env by name; replaces other lists', () => {
    const original = deployment();
    const out = strategicMergePatch(
      original,
      {
        spec: {
          template: {
            spec: {
              containers: [{ name: 'app', image: 'app:2', args: ['-c'], ports: [{ containerPort: 80, protocol: 'TCP' }], env: [{ name: 'B', value: '3' }, { name: 'C', value: '4' }] }],
              tolerations: [{ key: 'y', operator: 'Exists' }],
            },
          },
        },
      },
      'Deployment',
    ) as any;
    const [app, sidecar] = out.spec.template.spec.containers;
    assert.equal(app.image, 'app:2');
    assert.deepEqual(app.args, ['-c'], 'args has no merge key: replaced');
    assert.deepEqual(app.ports, [{ containerPort: 80, name: 'http', protocol: 'TCP' }, { containerPort: 9090 }]);
    assert.deepEqual(app.env, [{ name: 'A', value: '1' }, { name: 'B', value: '3' }, { name: 'C', value: '4' }]);
    assert.deepEqual(sidecar, { name: 'sidecar', image: 'side:1' }, 'the container the patch does not name stays');
    assert.deepEqual(out.spec.template.spec.tolerations, [{ key: 'y', operator: 'Exists' }]);
    assert.equal(out.spec.replicas, 2);
    assert.equal(original.spec.template.spec.containers[0].image, 'app:1', 'the original is not changed');
  });

  it('deletes list items and maps with $patch: delete, and keys with null', () => {
    const out = strategicMergePatch(
      deployment(),
      {
        metadata: { labels: { app: null, tier: 'front' } },
        spec: {
          strategy: { rollingUpdate: { $patch: 'delete' } },
          template: { spec: { containers: [{ name: 'sidecar', $patch: 'delete' }, { name: 'app', env: [{ name: 'A', $patch: 'delete' }] }] } },
        },
      },
      'Deployment',
    ) as any;
    assert.deepEqual(out.metadata.labels, { tier: 'front' });
    assert.deepEqual(out.spec.strategy, { type: 'RollingUpdate' });
    assert.deepEqual(out.spec.template.spec.containers.map((c: any) => c.name), ['app']);
    assert.deepEqual(out.spec.template.spec.containers[0].env, [{ name: 'B', value: '2' }]);
  });

  it('replaces a map or a keyed list with $patch: replace', () => {
    const out = strategicMergePatch(
      deployment(),
      { spec: { strategy: { $patch: 'replace', type: 'Recreate' }, template: { spec: { containers: [{ $patch: 'replace' }, { name: 'only', image: 'o:1' }] } } } },
      'Deployment',
    ) as any;
    assert.deepEqual(out.spec.strategy, { type: 'Recreate' });
    assert.deepEqual(out.spec.template.spec.containers, [{ name: 'only', image: 'o:1' }]);
  });

  it('keeps only $retainKeys, unions sets and removes values with $deleteFromPrimitiveList', () => {
    const out = strategicMergePatch(
      deployment(),
      {
        metadata: { finalizers: ['b'], '$deleteFromPrimitiveList/finalizers': ['a'] },
        spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } },
      },
      'Deployment',
    ) as any;
    assert.deepEqual(out.spec.strategy, { type: 'Recreate' });
    assert.deepEqual(out.metadata.finalizers, ['b']);
    const union = strategicMergePatch(deployment(), { metadata: { finalizers: ['b', 'a'] } }, 'Deployment') as any;
    assert.deepEqual(union.metadata.finalizers, ['a', 'b']);
  });

  it('orders a keyed list by $setElementOrder, the items it does not name keeping their places', () => {
    const out = strategicMergePatch(
      deployment(),
      { spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'new' }, { name: 'app' }], containers: [{ name: 'new', image: 'n:1' }] } } } },
      'Deployment',
    ) as any;
    // app and new are named: they take the slots app and new held (0 and 2) in the order given.
    assert.deepEqual(out.spec.template.spec.containers.map((c: any) => c.name), ['new', 'sidecar', 'app']);
  });

  it('what kubectl rollout restart sends: an annotation on the pod template', () => {
    const out = strategicMergePatch(deployment(), { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-01-01T00:00:00Z' } } } } }, 'Deployment') as any;
    assert.deepEqual(out.spec.template.metadata, { labels: { app: 'web' }, annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-01-01T00:00:00Z' } });
  });

  it('merges Service ports by port', () => {
    const svc = { kind: 'Service', spec: { ports: [{ port: 80, targetPort: 8080 }, { port: 443 }] } };
    const out = strategicMergePatch(svc, { spec: { ports: [{ port: 80, targetPort: 9090 }] } }, 'Service') as any;
    assert.deepEqual(out.spec.ports, [{ port: 80, targetPort: 9090 }, { port: 443 }]);
  });

  it('refuses malformed patches, naming the field', () => {
    assert.throws(() => strategicMergePatch(deployment(), [1], 'Deployment'), /must be a JSON object/);
    assert.throws(() => strategicMergePatch(deployment(), { spec: { template: { spec: { containers: [{ image: 'x' }] } } } }, 'Deployment'), /spec\.template\.spec\.containers\[0\]: the item has no "name"/);
    assert.throws(() => strategicMergePatch(deployment(), { spec: { $patch: 'explode' } }, 'Deployment'), /spec\.\$patch: unknown directive "explode"/);
    assert.throws(() => strategicMergePatch(deployment(), { spec: { $frobnicate: 1 } }, 'Deployment'), /spec\.\$frobnicate: unknown directive/);
    assert.throws(() => strategicMergePatch(deployment(), { $patch: 'delete' }, 'Deployment'), /cannot remove the whole object/);
  });
});
