/**
 * Label selectors, once: the string form ("a=b,c!=d,e in (x,y),f notin (z),g,!h") as kube-apiserver's
 * labelSelector= parameter takes it, the LabelSelector object (matchLabels + matchExpressions) of a
 * workload's spec, and a plain map of labels that must all be equal (the CRI's label_selector, a pod's
 * nodeSelector). Semantics are Kubernetes' (apimachinery labels.Parse and LabelSelectorAsSelector):
 * every requirement must hold; `!=` and `notin` also hold when the key is absent; a key is a
 * qualified name and a value a label value.
 */
import { invalidArgument } from '../lib/index.js';
import { checkLabelValue, checkQualifiedName } from './names.js';
import type { LabelSelector } from './workload-types.js';

/** One requirement on one label. `values` is empty for Exists and DoesNotExist. */
export interface LabelRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values: readonly string[];
}

/** Labels as objects carry them. */
type Labels = Readonly<Record<string, string>> | undefined;

const KEY = String.raw`[^\s=!(),]+`;
const VALUE = String.raw`[^\s=!(),]*`;
const EQUALITY_RE = new RegExp(String.raw`^(${KEY})\s*(==|=|!=)\s*(${VALUE})$`);
const SET_RE = new RegExp(String.raw`^(${KEY})\s+(in|notin)\s*\(([^()]*)\)$`);
const EXISTS_RE = new RegExp(String.raw`^(!?)\s*(${KEY})$`);

/** Splits "a in (x,y),b" at the commas outside parentheses. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(text.slice(start));
  return terms;
}

function requirementOf(term: string): LabelRequirement | string {
  const t = term.trim();
  let m = EQUALITY_RE.exec(t);
  if (m) return { key: m[1], operator: m[2] === '!=' ? 'NotIn' : 'In', values: [m[3]] };
  m = SET_RE.exec(t);
  if (m) {
    const values = m[3].split(',').map((v) => v.trim());
    if (values.length === 1 && values[0] === '') return `for 'in', 'notin' operators, values set can't be empty`;
    return { key: m[1], operator: m[2] === 'in' ? 'In' : 'NotIn', values };
  }
  m = EXISTS_RE.exec(t);
  if (m && m[2] !== 'in' && m[2] !== 'notin') return { key: m[2], operator: m[1] === '!' ? 'DoesNotExist' : 'Exists', values: [] };
  return 'expected key, !key, key=value, key==value, key!=value, key in (v1,v2) or key notin (v1,v2)';
}

/**
 * Parses a selector string ("a=b,c!=d,e in (x,y),!f"); "" selects everything. Throws
 * InvalidArgument naming `field` and the term that does not parse or holds an invalid key or value.
 */
export function parseLabelSelector(text: string, field = 'labelSelector'): LabelRequirement[] {
  if (text === '') return [];
  return splitTerms(text).map((term) => {
    const req = requirementOf(term);
    const why =
      typeof req === 'string'
        ? req
        : checkQualifiedName(req.key) !== undefined
          ? `invalid label key ${JSON.stringify(req.key)}: ${checkQualifiedName(req.key)}`
          : req.values.map((v) => [v, checkLabelValue(v)]).filter(([, w]) => w !== undefined).map(([v, w]) => `invalid label value ${JSON.stringify(v)}: ${w}`)[0];
    if (why !== undefined) throw invalidArgument(`${field}: invalid term ${JSON.stringify(term)}: ${why}`);
    return req as LabelRequirement;
  });
}

/** The requirements of a LabelSelector object: one In per matchLabels pair, then its matchExpressions. */
export function selectorRequirements(selector: LabelSelector): LabelRequirement[] {
  return [
    ...Object.entries(selector.matchLabels ?? {}).map(([key, value]): LabelRequirement => ({ key, operator: 'In', values: [value] })),
    ...(selector.matchExpressions ?? []).map((e): LabelRequirement => ({ key: e.key, operator: e.operator, values: e.values ?? [] })),
  ];
}

/** True when labels satisfy every requirement (none: true). Inherited keys are not labels. */
export function labelsMatch(requirements: readonly LabelRequirement[], labels: Labels): boolean {
  const l = labels ?? {};
  for (const req of requirements) {
    const present = Object.prototype.hasOwnProperty.call(l, req.key);
    const inValues = present && req.values.includes(l[req.key]);
    const ok = req.operator === 'In' ? inValues : req.operator === 'NotIn' ? !inValues : req.operator === 'Exists' ? present : !present;
    if (!ok) return false;
  }
  return true;
}

/** True when labels satisfy every matchLabels pair and every matchExpressions requirement. */
export function selectorMatches(selector: LabelSelector, labels: Labels): boolean {
  return labelsMatch(selectorRequirements(selector), labels);
}

/** True when labels hold every pair of `wanted` (a CRI label_selector, a nodeSelector); none: true. */
export function labelsInclude(labels: Labels, wanted: Readonly<Record<string, string>> | undefined): boolean {
  if (!wanted) return true;
  return Object.entries(wanted).every(([k, v]) => labels !== undefined && Object.prototype.hasOwnProperty.call(labels, k) && labels[k] === v);
}

/** "a=b,c in (x,y),d,!e" for a LabelSelector object (kubectl's SELECTOR column, a Scale's status); "" for none. */
export function formatLabelSelector(s: LabelSelector | undefined): string {
  if (!s) return '';
  const terms = Object.entries(s.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of s.matchExpressions ?? []) {
    if (e.operator === 'Exists') terms.push(e.key);
    else if (e.operator === 'DoesNotExist') terms.push(`!${e.key}`);
    else terms.push(`${e.key} ${e.operator === 'In' ? 'in' : 'notin'} (${(e.values ?? []).join(',')})`);
  }
  return terms.join(',');
}
