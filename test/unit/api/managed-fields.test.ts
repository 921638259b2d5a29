/**
 * Field ownership for server-side apply: the FieldsV1 sets an object's fields make, conflicts with
 * other managers, force, removal of fields a manager stops applying, and the fields a plain write
 * gives its manager.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyConfiguration, ApplyConflictError, fieldPaths, fromFieldsV1, recordUpdate, toFieldsV1 } from '../../../src/api/index.js';

const base = { kind: 'Deployment', apiVersion: 'apps/v1', time: '2026-01-01T00:00:00Z' };
const config = (replicas: number, image: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', labels: { app: 'web' } },
  spec: { replicas, template: { spec: { containers: [{ name: 'app', image, ...extra }] } } },
});

describe('managed fields', () => {
  it('describes an object\'s fields as FieldsV1: keyed items by their key, status and identity left out', () => {
    const tree = toFieldsV1(fieldPaths({ ...config(2, 'a:1'), status: { replicas: 1 }, metadata: { name: 'web', uid: 'u', labels: { app: 'web' }, finalizers: ['f'] } }, 'Deployment'));
    assert.deepEqual(tree, {
      'f:metadata': { 'f:labels': { 'f:app': {} }, 'f:finalizers': { 'v:"f"': {} } },
      'f:spec': { 'f:replicas': {}, 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:name': {}, 'f:image': {} } } } } },
    });
    assert.equal(fromFieldsV1(tree).length, 6);
  });

  it('applies, owns, removes what is no longer applied, and conflicts with another manager unless forced', () => {
    const first = applyConfiguration(undefined, config(2, 'a:1', { args: ['x'] }), { ...base, manager: 'alice', force: false }).object as any;
    assert.equal(first.spec.replicas, 2);
    assert.equal(first.metadata.managedFields.length, 1);
    assert.equal(first.metadata.managedFields[0].manager, 'alice');
    assert.equal(first.metadata.managedFields[0].operation, 'Apply');
    // The server defaults a field nobody applied: it survives later applies.
    first.spec.template.spec.containers[0].imagePullPolicy = 'IfNotPresent';

    // alice no longer applies args: it goes; her image change is hers to make.
    const second = applyConfiguration(first, config(2, 'a:2'), { ...base, manager: 'alice', force: false }).object as any;
    assert.deepEqual(second.spec.template.spec.containers, [{ name: 'app', image: 'a:2', imagePullPolicy: 'IfNotPresent' }]);

    // bob applies the same replicas (shared, no conflict) and a different image (a conflict).
    assert.throws(
      () => applyConfiguration(second, config(2, 'b:1'), { ...base, manager: 'bob', force: false }),
      (err: unknown) => err instanceof ApplyConflictError && /^Apply failed with 1 conflict: conflict with "alice" using apps\/v1: \.spec\.template\.spec\.containers\[name="app"\]\.image$/.test(err.message),
    );
    const forced = applyConfiguration(second, config(2, 'b:1'), { ...base, manager: 'bob', force: true }).object as any;
    assert.equal(forced.spec.template.spec.containers[0].image, 'b:1');
    const alice = forced.metadata.managedFields.find((e: any) => e.manager === 'alice');
    assert.equal(alice.fieldsV1['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"app"}']['f:image'], undefined, 'bob took the image over');
    assert.deepEqual(alice.fieldsV1['f:spec']['f:replicas'], {}, 'replicas stay shared');
    // alice stops applying replicas: bob still owns them, so they stay.
    const third = applyConfiguration(forced, { ...config(2, 'b:1'), spec: { template: { spec: { containers: [{ name: 'app', image: 'b:1' }] } } } }, { ...base, manager: 'alice', force: false }).object as any;
    assert.equal(third.spec.replicas, 2);
  });

  it('a plain write owns what it changed, taking it from the appliers', () => {
    const applied = applyConfiguration(undefined, config(2, 'a:1'), { ...base, manager: 'alice', force: false }).object as any;
    const scaled = structuredClone(applied);
    scaled.spec.replicas = 5;
    recordUpdate(applied, scaled, { ...base, manager: 'kubectl', subresource: 'scale' });
    const [alice, kubectl] = scaled.metadata.managedFields;
    assert.equal(alice.fieldsV1['f:spec']['f:replicas'], undefined);
    assert.deepEqual(kubectl, { manager: 'kubectl', operation: 'Update', apiVersion: 'apps/v1', time: base.time, fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:replicas': {} } }, subresource: 'scale' });
    assert.throws(() => applyConfiguration(scaled, config(3, 'a:1'), { ...base, manager: 'alice', force: false }), /conflict with "kubectl" with subresource "scale" using apps\/v1: \.spec\.replicas/);
    // A write that removes a field takes it from every manager; one that changes nothing records nothing.
    const unlabelled = structuredClone(scaled);
    unlabelled.metadata.labels = {};
    unlabelled.spec.template.spec.containers.push({ name: 'side', image: 's:1' });
    recordUpdate(scaled, unlabelled, { ...base, manager: 'edit' });
    const [alice2, , edit] = unlabelled.metadata.managedFields;
    assert.equal(alice2.fieldsV1['f:metadata'], undefined, 'alice\'s label is gone, and the emptied parents with it');
    assert.deepEqual(edit.fieldsV1, { 'f:metadata': { 'f:labels': {} }, 'f:spec': { 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"side"}': { '.': {}, 'f:name': {}, 'f:image': {} } } } } } });
    const same = structuredClone(unlabelled);
    recordUpdate(unlabelled, same, { ...base, manager: 'noop' });
    assert.deepEqual(same.metadata.managedFields, unlabelled.metadata.managedFields);
  });

  it('empty maps and lists the decoder adds are no conflict', () => {
    const sts = (metadata: Record<string, unknown>) => ({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db' }, spec: { volumeClaimTemplates: [{ metadata, spec: { accessModes: ['ReadWriteOnce'] } }] } });
    const live = sts({ name: 'data', labels: {}, annotations: {} });
    recordUpdate(undefined, live, { ...base, kind: 'StatefulSet', manager: 'creator' });
    const applied = applyConfiguration(live, sts({ name: 'data' }), { ...base, kind: 'StatefulSet', manager: 'alice', force: false }).object as any;
    assert.deepEqual(applied.metadata.managedFields.map((e: any) => e.manager), ['creator', 'alice'], 'shared, not a conflict');
    assert.throws(() => applyConfiguration(live, sts({ name: 'other' }), { ...base, kind: 'StatefulSet', manager: 'alice', force: false }), /conflict with "creator" using apps\/v1: \.spec\.volumeClaimTemplates/);
  });
});
