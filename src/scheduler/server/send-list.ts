/**
 * Big JSON answers without holding the event loop: a List of thousands of objects (what an apply of a
 * 1 MiB manifest returns, or a list of every Deployment) costs hundreds of milliseconds to serialize
 * in one JSON.stringify on a loaded machine. {@link sendListInSlices} writes it item by item, chunked,
 * and yields to the event loop every {@link SLICE_MS}, so heartbeats and other requests go on.
 */
import type { ServerResponse } from 'node:http';

/** Lists with more items than this are written in slices; smaller ones in one piece. */
export const SLICED_LIST_ITEMS = 200;
const SLICE_MS = 10;

/** True when body is a List-shaped object ({..., items: [...]}) long enough to write in slices. */
export function isBigList(body: unknown): body is { items: unknown[] } & Record<string, unknown> {
  return typeof body === 'object' && body !== null && Array.isArray((body as { items?: unknown }).items) && (body as { items: unknown[] }).items.length > SLICED_LIST_ITEMS;
}

/** Writes a List as JSON (chunked transfer), yielding every SLICE_MS; resolves when all is written. */
export async function sendListInSlices(res: ServerResponse, code: number, body: { items: unknown[] } & Record<string, unknown>, headers: Record<string, string> = {}): Promise<void> {
  const { items, ...rest } = body;
  res.writeHead(code, { 'content-type': 'application/json', ...headers });
  // Everything but items first (kind, apiVersion, metadata), then the items.
  const head = JSON.stringify({ ...rest, items: [] });
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
