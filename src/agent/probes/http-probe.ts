import * as http from 'node:http';
import * as https from 'node:https';
import type { HTTPGetAction } from '../../api/index.js';
import type { ProbeOutcome } from './probe-types.js';
import { hostPort } from './port.js';
import { setLongTimeout, messageOf } from '../../lib/index.js';

/** The kubelet reads at most this much of a probe's response body. */
const MAX_BODY_BYTES = 10 * 1024;
/** Go's HTTP client gives up after this many redirects; the kubelet inherits that. */
const MAX_REDIRECTS = 10;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Starts with "kube-probe/" because applications match on it to keep probes out of their access logs. */
const USER_AGENT = 'kube-probe/corelet';

interface RawResponse {
  status: number;
  location?: string;
  body: string;
}

/**
 * HTTP(S) GET probe: status 200..399 succeeds. Redirects are followed only to the same host name (a
 * redirect elsewhere ends the chain and counts as success, as in the kubelet). No proxy is used and
 * certificates are not verified: the target is the pod itself. timeoutSeconds bounds the whole chain.
 */
export async function runHttpProbe(action: HTTPGetAction, host: string, port: number, timeoutSeconds: number): Promise<ProbeOutcome> {
  const scheme = action.scheme === 'HTTPS' ? 'https' : 'http';
  const path = action.path ? (action.path.startsWith('/') ? action.path : `/${action.path}`) : '/';
  let url: URL;
  try {
    url = new URL(`${scheme}://${hostPort(host, port)}${path}`);
  } catch {
    return { result: 'Failure', output: `invalid probe URL: ${scheme}://${hostPort(host, port)}${path}` };
  }
  const first = url;
  const headers = buildHeaders(action.httpHeaders ?? []);
  const abort = new AbortController();
  const timer = setLongTimeout(() => abort.abort(), timeoutSeconds * 1000);
  try {
    for (let redirects = 0; ; redirects++) {
      let res: RawResponse;
      try {
        res = await get(url, headers, abort.signal);
      } catch (err) {
        const reason = abort.signal.aborted ? `timeout after ${timeoutSeconds}s` : messageOf(err);
        return { result: 'Failure', output: `Get "${url.href}": ${reason}` };
      }
      if (REDIRECT_STATUSES.has(res.status) && res.location !== undefined) {
        let next: URL;
        try {
          next = new URL(res.location, url);
        } catch {
          return { result: 'Failure', output: `Get "${url.href}": invalid redirect location "${res.location}"` };
        }
        if (next.hostname === first.hostname && (next.protocol === 'http:' || next.protocol === 'https:')) {
          if (redirects + 1 >= MAX_REDIRECTS) {
            return { result: 'Failure', output: `Get "${next.href}": stopped after ${MAX_REDIRECTS} redirects` };
          }
          // Like Go's client: a custom Host header survives only a relative redirect.
          if (isAbsolute(res.location)) delete headers.Host;
          url = next;
          continue;
        }
      }
      return verdict(res);
    }
  } finally {
    timer.clear();
  }
}

function verdict(res: RawResponse): ProbeOutcome {
  if (res.status >= 200 && res.status < 300) return { result: 'Success', output: res.body };
  if (res.status >= 300 && res.status < 400) {
    return { result: 'Success', output: `Probe terminated redirects, Response body: ${res.body}` };
  }
  return { result: 'Failure', output: `HTTP probe failed with statuscode: ${res.status}` };
}

/** Default headers overridden case-insensitively by the probe's; repeated names are all sent. */
function buildHeaders(extra: { name: string; value: string }[]): Record<string, string | string[]> {
  const byName = new Map<string, { name: string; values: string[] }>([
    ['user-agent', { name: 'User-Agent', values: [USER_AGENT] }],
    ['accept', { name: 'Accept', values: ['*/*'] }],
  ]);
  const overridden = new Set<string>();
  for (const h of extra) {
    const key = h.name.toLowerCase();
    if (!overridden.has(key)) {
      overridden.add(key);
      byName.set(key, { name: key === 'host' ? 'Host' : h.name, values: [] });
    }
    byName.get(key)!.values.push(h.value);
  }
  const headers: Record<string, string | string[]> = {};
  for (const [key, { name, values }] of byName) {
    // Host cannot repeat; the last one wins.
    headers[name] = key === 'host' ? values[values.length - 1] : values.length === 1 ? values[0] : values;
  }
  return headers;
}

function isAbsolute(location: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(location) || location.startsWith('//');
}

/** One GET without keep-alive, reading at most MAX_BODY_BYTES of the body. */
function get(url: URL, headers: Record<string, string | string[]>, signal: AbortSignal): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const options: https.RequestOptions = { method: 'GET', headers, signal, agent: false };
    if (url.protocol === 'https:') options.rejectUnauthorized = false;
    const req = (url.protocol === 'https:' ? https : http).request(url, options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () => {
        const location = res.headers.location;
        resolve({ status: res.statusCode ?? 0, location, body: Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString('utf8') });
      };
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= MAX_BODY_BYTES) {
          // Enough for the output: stop reading rather than download a large page every period.
          done();
          res.destroy();
        }
      });
      res.on('end', done);
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
