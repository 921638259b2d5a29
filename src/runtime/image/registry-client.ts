import { createHash } from 'node:crypto';
import {
  CoreletError,
  failedPrecondition,
  invalidArgument,
  notFound,
  unavailable,
  type Logger,
} from '../../lib/index.js';
import { basicAuthHeader, parseAuthChallenges, type AuthChallenge, type Credentials } from './auth.js';
import { digestOf, isDigest, parseDigest } from './digest.js';
import type { RegistryEndpoint } from './endpoints.js';
import { discardBody, readBody, type FetchLike, type HttpResponse } from './http-transport.js';
import { MANIFEST_ACCEPT, MAX_MANIFEST_BYTES } from './manifest.js';

/** A manifest or index as fetched: its bytes (digest verified), digest and Content-Type. */
export interface FetchedManifest {
  bytes: Buffer;
  digest: string;
  contentType?: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;
const MAX_TOKEN_RESPONSE = 1024 * 1024;

/**
 * Speaks the OCI distribution API to one registry endpoint at a time: manifests and blobs, the
 * WWW-Authenticate flow (anonymous, Basic, Bearer tokens from the realm, with basic credentials or an
 * identity token for the token endpoint), redirects (credentials never follow to another host), and
 * HTTP statuses turned into CoreletErrors (404 NotFound, 401/403 FailedPrecondition, network and 5xx
 * Unavailable).
 */
export class RegistryClient {
  /** Authorization headers that worked, per endpoint + repository + credentials, with expiry. */
  private readonly authCache = new Map<string, { header: string; expiresAt: number }>();

  constructor(
    private readonly fetchImpl: FetchLike,
    private readonly logger: Logger,
    private readonly userAgent = 'corelet',
  ) {}

  /** Fetches a manifest or index by tag or digest and verifies its digest. */
  async getManifest(ep: RegistryEndpoint, reference: string, creds: Credentials | undefined): Promise<FetchedManifest> {
    const what = `manifest ${ep.repository}:${reference} at ${ep.apiRoot}`;
    const path = isDigest(reference) ? `manifests/${reference}` : `manifests/${encodeURIComponent(reference)}`;
    const res = await this.request(ep, path, MANIFEST_ACCEPT, creds, what);
    if (res.status !== 200) throw await statusError(res, what);
    const bytes = await readLimited(res, MAX_MANIFEST_BYTES, what);
    let digest: string;
    if (isDigest(reference)) {
      const actual = digestOf(bytes, parseDigest(reference).algorithm);
      if (actual !== reference) throw invalidArgument(`${what}: digest mismatch: got ${actual}`);
      digest = reference;
    } else {
      digest = digestOf(bytes);
      const announced = res.headers.get('docker-content-digest');
      if (announced && announced.startsWith('sha256:') && announced !== digest) {
        throw invalidArgument(`${what}: digest mismatch: registry says ${announced}, content is ${digest}`);
      }
    }
    return { bytes, digest, contentType: res.headers.get('content-type') ?? undefined };
  }

  /** Opens a blob download; the caller streams (and verifies) the body. */
  async getBlob(ep: RegistryEndpoint, digest: string, creds: Credentials | undefined): Promise<HttpResponse> {
    const what = `blob ${digest} of ${ep.repository} at ${ep.apiRoot}`;
    const res = await this.request(ep, `blobs/${digest}`, '*/*', creds, what);
    if (res.status !== 200) throw await statusError(res, what);
    return res;
  }

  /** GET apiRoot/repository/path, answering one 401 challenge with the best credentials we have. */
  private async request(
    ep: RegistryEndpoint,
    path: string,
    accept: string,
    creds: Credentials | undefined,
    what: string,
  ): Promise<HttpResponse> {
    const url = `${ep.apiRoot}/${ep.repository}/${path}`;
    const cacheKey = `${ep.apiRoot}|${ep.repository}|${credentialsKey(creds)}`;
    let authorization: string | undefined;
    if (creds?.registryToken) authorization = `Bearer ${creds.registryToken}`;
    else {
      const cached = this.authCache.get(cacheKey);
      if (cached && cached.expiresAt > Date.now()) authorization = cached.header;
    }
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { Accept: accept, 'User-Agent': this.userAgent };
      if (authorization) headers.Authorization = authorization;
      const res = await this.send(url, headers, ep, what);
      if (res.status !== 401 || attempt > 0 || creds?.registryToken) return res;
      const challenges = parseAuthChallenges(res.headers.get('www-authenticate') ?? '');
      const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
      const basic = challenges.find((c) => c.scheme === 'basic');
      if (bearer) {
        discardBody(res);
        const token = await this.fetchToken(ep, bearer, creds, what);
        authorization = `Bearer ${token.token}`;
        this.authCache.set(cacheKey, { header: authorization, expiresAt: token.expiresAt });
      } else if (basic && creds?.username !== undefined) {
        discardBody(res);
        authorization = basicAuthHeader(creds.username, creds.password ?? '');
        this.authCache.set(cacheKey, { header: authorization, expiresAt: Number.MAX_SAFE_INTEGER });
      } else {
        return res; // nothing to answer the challenge with: the caller reports access denied
      }
    }
  }

  /** One request, following redirects; Authorization and TLS settings stay with the registry's host. */
  private async send(url: string, headers: Record<string, string>, ep: RegistryEndpoint, what: string): Promise<HttpResponse> {
    let current = new URL(url);
    const origin = current.origin;
    const hdrs = { ...headers };
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const sameOrigin = current.origin === origin;
      if (!sameOrigin) delete hdrs.Authorization;
      let res: HttpResponse;
      try {
        res = await this.fetchImpl(current.href, { method: 'GET', headers: hdrs, tls: sameOrigin ? ep.tls : undefined });
      } catch (err) {
        throw unavailable(`${what}: ${current.origin}: ${networkMessage(err)}`, err);
      }
      const location = res.headers.get('location');
      if (!REDIRECTS.has(res.status) || !location) return res;
      discardBody(res);
      current = new URL(location, current);
      this.logger.debug({ to: current.origin }, 'registry redirect');
    }
    throw unavailable(`${what}: more than ${MAX_REDIRECTS} redirects`);
  }

  /** Gets a bearer token from the challenge's realm (GET with basic credentials, or POST with an identity token). */
  private async fetchToken(
    ep: RegistryEndpoint,
    challenge: AuthChallenge,
    creds: Credentials | undefined,
    what: string,
  ): Promise<{ token: string; expiresAt: number }> {
    let realm: URL;
    try {
      realm = new URL(challenge.params.realm!);
    } catch {
      throw unavailable(`${what}: registry sent an invalid token realm ${JSON.stringify(challenge.params.realm)}`);
    }
    if (realm.protocol !== 'https:' && realm.protocol !== 'http:') {
      throw unavailable(`${what}: token realm ${realm.href} is not http(s)`);
    }
    const service = challenge.params.service;
    const scope = challenge.params.scope || `repository:${ep.repository}:pull`;
    const tls = realm.host === ep.host ? ep.tls : undefined;
    const tokenWhat = `${what}: token from ${realm.origin}${realm.pathname}`;
    let res: HttpResponse;
    try {
      if (creds?.identityToken) {
        const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: this.userAgent, scope });
        if (service) form.set('service', service);
        res = await this.fetchImpl(realm.href, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'User-Agent': this.userAgent },
          body: form.toString(),
          tls,
        });
      } else {
        const u = new URL(realm.href);
        if (service) u.searchParams.set('service', service);
        u.searchParams.set('scope', scope);
        const headers: Record<string, string> = { 'User-Agent': this.userAgent };
        if (creds?.username !== undefined) headers.Authorization = basicAuthHeader(creds.username, creds.password ?? '');
        res = await this.fetchImpl(u.href, { method: 'GET', headers, tls });
      }
    } catch (err) {
      throw unavailable(`${tokenWhat}: ${networkMessage(err)}`, err);
    }
    if (res.status === 401 || res.status === 403) {
      discardBody(res);
      throw failedPrecondition(
        `${tokenWhat}: authentication failed (HTTP ${res.status})${creds ? '' : '; no credentials were given'}`,
      );
    }
    if (res.status !== 200) throw await statusError(res, tokenWhat);
    const body = await readLimited(res, MAX_TOKEN_RESPONSE, tokenWhat);
    let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      doc = JSON.parse(body.toString('utf8'));
    } catch {
      throw unavailable(`${tokenWhat}: response is not JSON`);
    }
    const token = typeof doc.token === 'string' && doc.token ? doc.token : doc.access_token;
    if (typeof token !== 'string' || token === '') throw unavailable(`${tokenWhat}: response has no token`);
    // Tokens without expires_in last 60 s per the token spec; renew a little early.
    const lifetime = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : 60;
    return { token, expiresAt: Date.now() + Math.max(0, lifetime - 10) * 1000 };
  }
}

function credentialsKey(creds: Credentials | undefined): string {
  return creds ? createHash('sha256').update(JSON.stringify(creds)).digest('hex').slice(0, 16) : 'anonymous';
}

/** A network error's message with its cause (fetch wraps the interesting part in cause). */
function networkMessage(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string; code?: string } };
  const cause = e.cause?.message ?? e.cause?.code;
  return `${e.message ?? String(err)}${cause ? ` (${cause})` : ''}`;
}

async function readLimited(res: HttpResponse, limit: number, what: string): Promise<Buffer> {
  try {
    return await readBody(res, limit, what);
  } catch (err) {
    if (err instanceof Error && err.message.includes('larger than')) throw invalidArgument(err.message, err);
    throw unavailable(`${what}: reading response: ${networkMessage(err)}`, err);
  }
}

/** Turns a failed registry response into the CoreletError a caller should see. */
export async function statusError(res: HttpResponse, what: string): Promise<CoreletError> {
  let detail = '';
  try {
    const body = await readBody(res, 64 * 1024, 'error body');
    const doc = JSON.parse(body.toString('utf8')) as { errors?: { code?: string; message?: string }[] };
    const first = doc.errors?.[0];
    if (first) detail = `: ${[first.code, first.message].filter(Boolean).join(': ')}`;
  } catch {
    discardBody(res);
  }
  const s = res.status;
  if (s === 404) return notFound(`${what}: not found${detail}`);
  if (s === 401 || s === 403) {
    return failedPrecondition(`${what}: pull access denied (HTTP ${s}): the repository does not exist or needs credentials${detail}`);
  }
  if (s === 400) return invalidArgument(`${what}: registry rejected the request (HTTP 400)${detail}`);
  return unavailable(`${what}: registry answered HTTP ${s}${detail}`);
}
