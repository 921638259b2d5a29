import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatLabelSelector, labelsInclude, labelsMatch, parseLabelSelector, selectorMatches, selectorRequirements } from '../../../src/api/index.js';
import { CoreletError } from '../../../src/lib/index.js';

const labels = { app: 'web', tier: 'front', env: '' };

describe('parseLabelSelector and labelsMatch: the string form, as kube-apiserver reads it', () => {
  const cases: [string, boolean][] = [
    ['', true],
    ['app=web', true],
    ['app==web', true],
    [' app = web ', true],
    ['app=api', false],
    ['zone=a', false],
    ['app!=api', true],
    ['app!=web', false],
    ['zone!=a', true],
    ['env=', true],
    ['app=web,tier=front', true],
    ['app=web,tier=back', false],
    ['app=web,app=api', false],
    ['tier in (front,back)', true],
    ['tier in (back)', false],
    ['zone in (a)', false],
    ['tier notin (back)', true],
    ['tier notin (front, back)', false],
    ['zone notin (a)', true],
    ['app', true],
    ['zone', false],
    ['!zone', true],
    ['!app', false],
    ['app=web,tier in (front),!zone,env', true],
    ['constructor', false],
    ['example.com/app!=x', true],
  ];
  for (const [text, want] of cases) it(JSON.stringify(text), () => assert.equal(labelsMatch(parseLabelSelector(text), labels), want));

  it('reads the operators into requirements', () => {
    assert.deepEqual(parseLabelSelector('a=b,c!=d,e in (x, y),!f,g'), [
      { key: 'a', operator: 'In', values: ['b'] },
      { key: 'c', operator: 'NotIn', values: ['d'] },
      { key: 'e', operator: 'In', values: ['x', 'y'] },
      { key: 'f', operator: 'DoesNotExist', values: [] },
      { key: 'g', operator: 'Exists', values: [] },
    ]);
  });

  const bad: [string, RegExp][] = [
    ['a=b,', /labelSelector: invalid term "": expected key/],
    ['a in ()', /values set can't be empty/],
    ['a=b=c', /invalid term "a=b=c"/],
    ['a in (x', /invalid term "a in \(x"/],
    ['-a=b', /invalid label key "-a"/],
    ['a=-b', /invalid label value "-b"/],
    ['a in (x,-y)', /invalid label value "-y"/],
    ['in', /invalid term "in"/],
  ];
  for (const [text, want] of bad) {
    it(`refuses ${JSON.stringify(text)}`, () =>
      assert.throws(() => parseLabelSelector(text), (e: unknown) => e instanceof CoreletError && e.kind === 'InvalidArgument' && want.test(e.message)));
  }
  it('names the field it reads', () => assert.throws(() => parseLabelSelector('a b', 'selector'), /selector: invalid term "a b"/));
});

describe('LabelSelector objects', () => {
  it('match as their requirements', () => {
    const s = { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'NotIn' as const, values: ['back'] }] };
    assert.deepEqual(selectorRequirements(s), parseLabelSelector('app=web,tier notin (back)'));
    assert.equal(selectorMatches(s, labels), true);
    assert.equal(selectorMatches({ matchLabels: {} }, {}), true, 'an empty selector selects everything');
    assert.equal(selectorMatches({ matchLabels: { app: 'web' } }, undefined), false);
  });
  it('format as kubectl shows them', () => {
    assert.equal(formatLabelSelector(undefined), '');
    assert.equal(formatLabelSelector({ matchLabels: {} }), '');
    const s = {
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'tier', operator: 'In' as const, values: ['a', 'b'] },
        { key: 'x', operator: 'NotIn' as const, values: ['c'] },
        { key: 'y', operator: 'Exists' as const },
        { key: 'z', operator: 'DoesNotExist' as const },
      ],
    };
    assert.equal(formatLabelSelector(s), 'app=web,tier in (a,b),x notin (c),y,!z');
    assert.deepEqual(parseLabelSelector(formatLabelSelector(s)), selectorRequirements(s), 'the string parses back');
  });
});

describe('labelsInclude: plain equality maps (CRI label_selector, nodeSelector)', () => {
  const cases: [string, Record<string, string> | undefined, Record<string, string> | undefined, boolean][] = [
    ['no selector', labels, undefined, true],
    ['empty selector', undefined, {}, true],
    ['subset', labels, { app: 'web' }, true],
    ['mismatch', labels, { app: 'api' }, false],
    ['absent key', labels, { zone: 'a' }, false],
    ['no labels', undefined, { app: 'web' }, false],
    ['empty value', labels, { env: '' }, true],
  ];
  for (const [what, l, sel, want] of cases) it(what, () => assert.equal(labelsInclude(l, sel), want));
});
