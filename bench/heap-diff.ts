/**
 * Compares two V8 heap snapshots (.heapsnapshot, e.g. from memory.ts --heap-snapshots): objects
 * grouped by type and constructor name, with the change in count and self size, largest growth
 * first — what a daemon kept between the two.
 *
 *   node dist/bench/heap-diff.js BEFORE.heapsnapshot AFTER.heapsnapshot [--top 40]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { table } from './stats.js';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** count and self size per "type:name" (strings grouped as one, closures by function name). */
export function groupNodes(s: Snapshot): Map<string, { count: number; size: number }> {
  const f = s.snapshot.meta.node_fields;
  const width = f.length;
  const iType = f.indexOf('type');
  const iName = f.indexOf('name');
  const iSize = f.indexOf('self_size');
  const types = s.snapshot.meta.node_types[0];
  const out = new Map<string, { count: number; size: number }>();
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + iType]!]!;
    const name = type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'number' ? '' : s.strings[s.nodes[i + iName]!]!.slice(0, 60);
    const key = `${type}:${name}`;
    const e = out.get(key) ?? { count: 0, size: 0 };
    e.count++;
    e.size += s.nodes[i + iSize]!;
    out.set(key, e);
  }
  return out;
}

function main(): void {
  const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '40' } }, allowPositionals: true });
  if (positionals.length !== 2) throw new Error('usage: heap-diff BEFORE.heapsnapshot AFTER.heapsnapshot [--top N]');
  const [a, b] = positionals.map((p) => groupNodes(JSON.parse(readFileSync(p, 'utf8')) as Snapshot));
  const keys = new Set([...a!.keys(), ...b!.keys()]);
  const rows = [...keys].map((k) => {
    const x = a!.get(k) ?? { count: 0, size: 0 };
    const y = b!.get(k) ?? { count: 0, size: 0 };
    return { k, dc: y.count - x.count, ds: y.size - x.size, count: y.count };
  });
  rows.sort((p, q) => q.ds - p.ds);
  const top = Number(values.top);
  console.log(
    table([
      ['type:name', 'Δ count', 'Δ self bytes', 'count after'],
      ...rows.slice(0, top).map((r) => [r.k, String(r.dc), String(r.ds), String(r.count)]),
    ]),
  );
  const total = (m: Map<string, { size: number }>) => [...m.values()].reduce((s, e) => s + e.size, 0);
  console.log(`total self size ${total(a!)} → ${total(b!)} bytes`);
}

main();
