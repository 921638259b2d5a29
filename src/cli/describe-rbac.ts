/** `corelet describe` of roles, bindings and service accounts, laid out as kubectl prints them. */
import { isRbacKind } from '../api/index.js';
import { formatTable } from './table.js';

const NONE = '<none>';

/** True for the kinds {@link describeRbac} describes: the RBAC kinds and ServiceAccount. */
export function isRbacDescribed(kind: unknown): boolean {
  return isRbacKind(kind);
}

function pairs(m: Record<string, string> | undefined): string[] {
  const e = Object.entries(m ?? {});
  return e.length === 0 ? [NONE] : e.map(([k, v]) => `${k}=${v}`);
}

function fields(rows: [string, string[]][]): string[] {
  const width = Math.max(...rows.map(([k]) => k.length + 1)) + 2;
  return rows.flatMap(([k, vs]) => vs.map((v, i) => `${i === 0 ? `${k}:`.padEnd(width) : ' '.repeat(width)}${v}`.trimEnd()));
}

const indent = (text: string) => text.split('\n').map((l) => `  ${l}`.trimEnd());

/** The describe text of a Role, ClusterRole, RoleBinding, ClusterRoleBinding or ServiceAccount. */
export function describeRbac(obj: any): string {
  const m = obj.metadata ?? {};
  const head: [string, string[]][] = [['Name', [m.name ?? '']]];
  if (m.namespace) head.push(['Namespace', [m.namespace]]);
  head.push(['Labels', pairs(m.labels)], ['Annotations', pairs(m.annotations)]);
  const lines = fields(head);
  if (obj.kind === 'Role' || obj.kind === 'ClusterRole') {
    lines.push('PolicyRule:');
    const rows = [['Resources', 'Non-Resource URLs', 'Resource Names', 'Verbs'], ['---------', '-----------------', '--------------', '-----']];
    for (const r of obj.rules ?? []) {
      const groups: string[] = r.apiGroups ?? [];
      const resources = (r.resources ?? []).map((res: string) => groups.flatMap((g) => (g === '' ? [res] : [`${res}.${g}`])).join(', '));
      rows.push([resources.join(', '), `[${(r.nonResourceURLs ?? []).join(' ')}]`, `[${(r.resourceNames ?? []).join(' ')}]`, `[${(r.verbs ?? []).join(' ')}]`]);
    }
    lines.push(...indent(formatTable(rows)));
  } else if (obj.kind === 'RoleBinding' || obj.kind === 'ClusterRoleBinding') {
    lines.push('Role:', ...indent(fields([['Kind', [obj.roleRef?.kind ?? '']], ['Name', [obj.roleRef?.name ?? '']]]).join('\n')));
    lines.push('Subjects:');
    const rows = [['Kind', 'Name', 'Namespace'], ['----', '----', '---------']];
    for (const s of obj.subjects ?? []) rows.push([s.kind, s.name, s.namespace ?? '']);
    lines.push(...indent(formatTable(rows)));
  } else if (obj.kind === 'ServiceAccount') {
    lines.push(...fields([['Tokens', ['<made on request: corelet create token ' + (m.name ?? '') + (m.namespace ? ` -n ${m.namespace}` : '') + '>']]]));
  }
  return lines.join('\n') + '\n';
}
