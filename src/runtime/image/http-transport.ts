import * as http from 'node:http';
import * as https from 'node:https';
import type { TlsSettings } from './registries-config.js';

/** One HTTP request as the registry client makes it. */
export interface HttpRequest {
  method?: 'GET' | 'HEAD' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** TLS settings for https URLs (ignored by plain fetch implementations). */
  tls?: TlsSettings;
}

/** The part of a fetch Response the registry client reads. */
export interface HttpResponse {
  status: number;
  headers: { get(name: string): string | null };
  body: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array> | null;
}

/**
 * The transport the image store talks HTTP through. Redirects are NOT followed by the client's
 * contract (it follows them itself, to drop credentials across hosts). Node's global `fetch` fits
 * when called with `redirect: 'manual'` semantics; tests pass fakes.
 */
export type FetchLike = (url: string, init: HttpRequest) => Promise<HttpResponse>;

/** How long a connection may sit idle (connecting, or between body chunks) before it fails. */
const IDLE_TIMEOUT_MS = 60_000;

/**
 * The default transport: node:http / node:https with per-registry TLS (custom CA, client
 * certificate, insecure_skip_verify). Does not follow redirects.
 */
export const nodeHttpFetch: FetchLike = (url, init) =>
  new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : undefined;
    if (!mod) {
      reject(new Error(`unsupported URL scheme in ${url}`));
      return;
    }
    const tls = init.tls;
    const options: https.RequestOptions = {
      method: init.method ?? 'GET',
      headers: init.headers,
      timeout: IDLE_TIMEOUT_MS,
    };
    if (mod === https && tls) {
      if (tls.ca) options.ca = tls.ca;
      if (tls.cert) options.cert = tls.cert;
      if (tls.key) options.key = tls.key;
      options.rejectUnauthorized = !tls.insecureSkipVerify;
    }
    const req = mod.request(u, options, (res) => {
      resolve({
        status: res.statusCode ?? 0,
        headers: {
          get(name: string): string | null {
            const v = res.headers[name.toLowerCase()];
            if (v === undefined) return null;
            return Array.isArray(v) ? v.join(', ') : String(v);
          },
        },
        body: res,
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no response from ${u.host} for ${IDLE_TIMEOUT_MS / 1000}s`)));
    req.on('error', reject);
    if (init.body !== undefined) req.write(init.body);
    req.end();
  });

/** Iterates a response body's chunks, whichever stream flavour it is. */
export async function* bodyChunks(res: HttpResponse): AsyncGenerator<Uint8Array> {
  const body = res.body;
  if (body === null) return;
  if (Symbol.asyncIterator in body) {
    yield* body as AsyncIterable<Uint8Array>;
    return;
  }
  const reader = (body as ReadableStream<Uint8Array>).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** Reads a whole (small) body, failing once it passes limit bytes. */
export async function readBody(res: HttpResponse, limit: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of bodyChunks(res)) {
    total += chunk.length;
    if (total > limit) {
      discardBody(res);
      throw new Error(`${what} is larger than ${limit} bytes`);
    }
    parts.push(Buffer.from(chunk));
  }
  return Buffer.concat(parts);
}

/** Releases a body we will not read (frees the connection). */
export function discardBody(res: HttpResponse): void {
  const body = res.body as unknown as { cancel?: () => Promise<void>; destroy?: () => void; locked?: boolean } | null;
  if (!body) return;
  if (typeof body.destroy === 'function') body.destroy();
  else if (typeof body.cancel === 'function' && !body.locked) body.cancel().catch(() => undefined);
}
