/**
 * The cluster CLI's HTTPS client for the scheduler's REST API: JSON requests with the bearer token,
 * streamed responses (logs) and watches (newline-delimited JSON events). Failures become errors that
 * say what to do: a refused connection asks whether the scheduler runs there, an untrusted
 * certificate names --ca-cert, a rejected token names --token.
 */
import https from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { ClientConfig } from './client-config.js';
import { checkSchedulerIdentity } from '../join/index.js';
import { messageOf } from '../lib/index.js';

/** How long a plain request may take (watches, followed logs and exec are not limited). */
const REQUEST_TIMEOUT_MS = 60_000;

/** An error answer of the API (a Kubernetes Status). */
export class ApiError extends Error {
  constructor(
    message: string,
    /** HTTP status code. */
    readonly status: number,
    /** The Status reason: NotFound, AlreadyExists, Conflict, BadRequest... */
    readonly reason: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** A successful answer. */
export interface ApiResponse<T> {
  status: number;
  headers: IncomingHttpHeaders;
  body: T;
}

/** One event of a watch. */
export interface WatchEvent<T = any> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/** What a request sends. */
export interface RequestOptions {
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as is (a manifest). */
  text?: string;
  contentType?: string;
  /** No time limit (exec may run long). */
  noTimeout?: boolean;
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
]);

/** A failure to talk to the scheduler at all, explained. */
export function connectionError(err: unknown, server: string): Error {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const detail = messageOf(err);
  if (code === 'ECONNREFUSED') return new Error(`cannot connect to ${server}: connection refused; is the scheduler running at ${server}? (start it with \`corelet scheduler\`)`);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new Error(`cannot resolve the scheduler's host in ${server} (${code}); check --server or "server" in your CLI config`);
  if (code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return new Error(`cannot reach ${server} (${code}); is the scheduler running there, and is the network up?`);
  if (code === 'ECONNRESET') return new Error(`the connection to ${server} was reset (${detail}); is that the scheduler's HTTPS port?`);
  if (TLS_CODES.has(code) || /certificate|self[- ]signed/i.test(detail)) {
    return new Error(
      `the certificate of ${server} is not trusted (${detail}); pass --ca-cert FILE with the scheduler's CA (the "caCert" \`corelet scheduler init\` writes to ~/.corelet/config), or --insecure-skip-tls-verify`,
    );
  }
  if (/wrong version number|packet length too long|EPROTO/i.test(`${code} ${detail}`)) return new Error(`${server} does not speak HTTPS (${detail}); check the port`);
  return new Error(`cannot talk to the scheduler at ${server}: ${detail}`);
}

/** The error for an HTTP error answer (the Status message, with advice where there is some). */
export function errorFromResponse(status: number, text: string, server: string): ApiError {
  let message = text.trim() || `HTTP ${status}`;
  let reason = '';
  try {
    const body = JSON.parse(text) as { kind?: string; message?: string; reason?: string };
    if (body?.kind === 'Status') {
      message = body.message ?? message;
      reason = body.reason ?? '';
    }
  } catch {
    // not JSON: the raw text is the message
  }
  if (status === 401) {
    message = `the scheduler rejected the token (${message}); pass a valid API token with --token, or fix "token" in your CLI config (\`corelet scheduler init\` writes a new one)`;
  } else if (status >= 500 && status !== 501 && status !== 503) {
    message = `the scheduler at ${server} failed: ${message}`;
  }
  return new ApiError(message, status, reason || String(status));
}

/** Talks to one scheduler with one token. */
export class ApiClient {
  private readonly agent: https.Agent;

  constructor(readonly config: ClientConfig) {
    this.agent = new https.Agent({
      ca: config.caCert,
      // Nodes' certificates chain to the same CA: refuse one posing as the scheduler.
      checkServerIdentity: checkSchedulerIdentity,
      ...(config.clientCert && config.clientKey ? { cert: config.clientCert, key: config.clientKey } : {}),
      rejectUnauthorized: !config.insecureSkipTlsVerify,
      keepAlive: true,
    });
  }

  /** Sends a request; resolves with the response (any status) once its headers arrived. */
  private open(method: string, path: string, opts: RequestOptions, timeout: boolean, signal?: AbortSignal): Promise<IncomingMessage> {
    const body = opts.json !== undefined ? JSON.stringify(opts.json) : opts.text;
    const headers: Record<string, string | string[]> = { accept: 'application/json' };
    if (this.config.token) headers.authorization = `Bearer ${this.config.token}`;
    if (this.config.impersonateUser) headers['impersonate-user'] = this.config.impersonateUser;
    if (this.config.impersonateGroups) headers['impersonate-group'] = this.config.impersonateGroups;
    if (body !== undefined) {
      headers['content-type'] = opts.contentType ?? (opts.json !== undefined ? 'application/json' : 'application/yaml');
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const url = new URL(path, this.config.server);
    return new Promise((resolve, reject) => {
      const req = https.request(url, { method, headers, agent: this.agent, signal }, resolve);
      req.on('error', (err) => {
        if ((err as Error).name === 'AbortError') reject(err);
        else reject(connectionError(err, this.config.server));
      });
      if (timeout) {
        req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000}s`)));
      }
      req.end(body);
    });
  }

  /** A request whose answer is read whole; an error status throws {@link ApiError}. */
  async request<T = any>(method: string, path: string, opts: RequestOptions = {}): Promise<ApiResponse<T>> {
    const res = await this.open(method, path, opts, !opts.noTimeout);
    const text = await readAll(res);
    const status = res.statusCode ?? 0;
    if (status >= 400) throw errorFromResponse(status, text, this.config.server);
    let body: unknown = text;
    if ((res.headers['content-type'] ?? '').includes('json') && text !== '') body = JSON.parse(text);
    return { status, headers: res.headers, body: body as T };
  }

  async get<T = any>(path: string): Promise<T> {
    return (await this.request<T>('GET', path)).body;
  }

  /** GET that answers undefined for 404. */
  async getIfExists<T = any>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** A merge patch (RFC 7386). */
  async patch<T = any>(path: string, patch: unknown): Promise<T> {
    return (await this.request<T>('PATCH', path, { json: patch, contentType: 'application/merge-patch+json' })).body;
  }

  async delete<T = any>(path: string): Promise<T> {
    return (await this.request<T>('DELETE', path)).body;
  }

  /** A streamed GET (pod logs): the response once it is known to be a success. */
  async stream(path: string, signal?: AbortSignal): Promise<IncomingMessage> {
    const res = await this.open('GET', path, {}, false, signal);
    if ((res.statusCode ?? 0) >= 400) throw errorFromResponse(res.statusCode ?? 0, await readAll(res), this.config.server);
    return res;
  }

  /**
   * Follows a watch (the path has ?watch=true): calls onEvent for each event until the server ends
   * the stream or signal aborts. An ERROR event's Status becomes a thrown ApiError.
   */
  async watch(path: string, onEvent: (event: WatchEvent) => void | Promise<void>, signal?: AbortSignal): Promise<void> {
    let res: IncomingMessage;
    try {
      res = await this.stream(path, signal);
    } catch (err) {
      if (signal?.aborted) return;
      throw err;
    }
    let buffered = '';
    try {
      for await (const chunk of res) {
        buffered += (chunk as Buffer).toString('utf8');
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line === '') continue;
          const event = JSON.parse(line) as WatchEvent;
          if (event.type === 'ERROR') throw errorFromResponse(event.object?.code ?? 500, JSON.stringify(event.object), this.config.server);
          await onEvent(event);
        }
      }
    } catch (err) {
      if (signal?.aborted) return;
      if (err instanceof ApiError || err instanceof SyntaxError) throw err;
      throw new Error(`the watch on ${this.config.server} broke off: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Closes idle connections so the process can exit. */
  close(): void {
    this.agent.destroy();
  }
}

async function readAll(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The texts of an answer's Warning headers ('299 - "text", 299 - "more"'). */
export function warningsOf(headers: IncomingHttpHeaders): string[] {
  const raw = headers.warning;
  const values = Array.isArray(raw) ? raw : raw ? [raw] : [];
  const out: string[] = [];
  for (const v of values) {
    for (const m of v.matchAll(/\d{3} \S+ ("(?:[^"\\]|\\.)*")/g)) {
      try {
        out.push(JSON.parse(m[1]) as string);
      } catch {
        out.push(m[1]);
      }
    }
  }
  return out;
}
