/**
 * Asks the scheduler whether a user may use this node's HTTPS port, with a Kubernetes
 * SubjectAccessReview (POST /apis/authorization.k8s.io/v1/subjectaccessreviews), as the kubelet's
 * webhook authorizer does. The agent authenticates with its node certificate. Answers are cached for
 * a minute (allowed and denied alike); a failed review is not cached and denies.
 */
import https from 'node:https';
import { checkSchedulerIdentity, type UserInfo } from '../../join/index.js';
import { messageOf } from '../../lib/index.js';

export const SAR_PATH = '/apis/authorization.k8s.io/v1/subjectaccessreviews';
export const SAR_CACHE_MS = 60_000;

/** What is asked: verb on nodes/<subresource> of node name. */
export interface NodeResourceAttributes {
  verb: 'get' | 'create';
  subresource: string;
  name: string;
}

export interface AccessDecision {
  allowed: boolean;
  reason?: string;
}

/** One review; the default posts it to the scheduler. */
export type ReviewFn = (body: unknown) => Promise<{ status: number; body: unknown }>;

/** Posts reviews over TLS with the node's client certificate, trusting only the cluster CA. */
export function httpsReview(baseUrl: string, credentials: () => { caPem: string; certPem: string; keyPem: string }, timeoutMs = 10_000): ReviewFn {
  return (body) =>
    new Promise((resolve, reject) => {
      const { caPem, certPem, keyPem } = credentials();
      const text = JSON.stringify(body);
      const req = https.request(
        `${baseUrl}${SAR_PATH}`,
        { method: 'POST', ca: caPem, checkServerIdentity: checkSchedulerIdentity, cert: certPem, key: keyPem, timeout: timeoutMs, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const raw = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = raw;
            try {
              parsed = JSON.parse(raw);
            } catch {
              // kept as text
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(text);
    });
}

/** SubjectAccessReviews with a one-minute cache. */
export class SubjectAccessReviewer {
  private readonly cache = new Map<string, { decision: AccessDecision; until: number }>();

  constructor(
    private readonly review: ReviewFn,
    private readonly opts: { ttlMs?: number; now?: () => number } = {},
  ) {}

  async check(user: UserInfo, attrs: NodeResourceAttributes): Promise<AccessDecision> {
    const now = (this.opts.now ?? Date.now)();
    const key = JSON.stringify([user.username, [...user.groups].sort(), attrs.verb, attrs.subresource, attrs.name]);
    const hit = this.cache.get(key);
    if (hit && hit.until > now) return hit.decision;
    let decision: AccessDecision;
    try {
      const { status, body } = await this.review({
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: { user: user.username, groups: user.groups, resourceAttributes: { verb: attrs.verb, resource: 'nodes', subresource: attrs.subresource, name: attrs.name } },
      });
      const st = (body as { status?: { allowed?: unknown; reason?: unknown } } | undefined)?.status;
      if ((status !== 200 && status !== 201) || typeof st?.allowed !== 'boolean') {
        const msg = (body as { message?: string } | undefined)?.message ?? `HTTP ${status}`;
        return { allowed: false, reason: `the scheduler could not review the request: ${msg}` };
      }
      decision = { allowed: st.allowed, ...(typeof st.reason === 'string' && st.reason ? { reason: st.reason } : {}) };
    } catch (err) {
      return { allowed: false, reason: `cannot reach the scheduler to authorize the request: ${messageOf(err)}` };
    }
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(key, { decision, until: now + (this.opts.ttlMs ?? SAR_CACHE_MS) });
    return decision;
  }
}
