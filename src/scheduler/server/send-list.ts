/**
 * Big JSON answers without holding the event loop: a List of thousands of objects (what an apply of a
 * 1 MiB manifest returns, or a list of every Deployment) costs hundreds of milliseconds to serialize
 * in one JSON.stringify on a loaded machine. {@link sendListInSlices} writes it item by item, chunked,
 * and yields to the event loop every {@link SLICE_MS}, so heartbeats and other requests go on. A
 * Table (kubectl get: server-side printing, rows instead of items) is sent the same way.
 */
import type { ServerResponse } from 'node:http';

/** Lists with more items than this are written in slices; smaller ones in one piece. */
export const SLICED_LIST_ITEMS = 200;
const SLICE_MS = 10;

/** The array a big answer carries: a List's items, a Table's rows (kubectl's server-side printing). */
function arrayKeyOf(body: Record<string, unknown>): 'items' | 'rows' | undefined {
  if (Array.isArray(body.items)) return 'items';
  if (body.kind === 'Table' && Array.isArray(body.rows)) return 'rows';
  return undefined;
}

/** True when body is a List-shaped object ({..., items: [...]}) or a Table ({..., rows: [...]}) long enough to write in slices. */
export function isBigList(body: unknown): body is Record<string, unknown> {
  if (typeof body !== 'object' || body === null) return false;
  const key = arrayKeyOf(body as Record<string, unknown>);
  return key !== undefined && ((body as Record<string, unknown[]>)[key]).length > SLICED_LIST_ITEMS;
}

/** Writes a List (or a Table) as JSON (chunked transfer), yielding every SLICE_MS; resolves when all is written. */
export async function sendListInSlices(res: ServerResponse, code: number, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<void> {
  const key = arrayKeyOf(body) ?? 'items';
  const { [key]: array, ...rest } = body;
  const items = (array ?? []) as unknown[];
  res.writeHead(code, { 'content-type': 'application/json', ...headers });
  // Everything but the array last (kind, apiVersion, metadata, a Table's columns), then its elements.
  const head = JSON.stringify({ ...rest, [key]: [] });
  res.write(head.slice(0, -2)); // `{"kind":...,"items":[`
  let sliceStart = performance.now();
  let parts: string[] = [];
  for (let i = 0; i < items.length; i++) {
    parts.push((i > 0 ? ',' : '') + JSON.stringify(items[i]));
    if (performance.now() - sliceStart >= SLICE_MS) {
      res.write(parts.join(''));
      parts = [];
      await new Promise((resolve) => setImmediate(resolve));
      if (res.destroyed) return;
      sliceStart = performance.now();
    }
  }
  res.end(`${parts.join('')}]}`);
}
