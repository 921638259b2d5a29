/**
 * Relays an HTTP connection upgrade (WebSocket, SPDY/3.1) to another server and then pipes the
 * bytes both ways, protocol-blind: what the scheduler does between kubectl and a node's agent, and
 * the agent between the scheduler and the runtime's streaming server (kube-apiserver's and the
 * kubelet's upgrade-aware proxy). The upstream's answer reaches the client unchanged: its 101 with
 * the subprotocol it chose, or its refusal (status and body).
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { Duplex } from 'node:stream';

/** Request headers of an upgrade that go on to the upstream (the rest are the hop's own). */
const FORWARDED_HEADERS = ['upgrade', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-protocol', 'x-stream-protocol-version', 'user-agent', 'origin'];

/** The upstream's refusal body is cut to this many bytes (a Status, a line of text). */
const MAX_REFUSAL_BYTES = 64 * 1024;

/** Where and how to relay an upgrade. */
export interface UpgradeTarget {
  /** The upstream URL (http: or https:) with its path and query. */
  url: URL;
  /** For https: the CA to trust and the client certificate to present. */
  tls?: { caPem: string; certPem?: string; keyPem?: string };
  /** Extra request headers (an Authorization of this hop). */
  headers?: Record<string, string>;
  /** How long connecting and the upstream's answer may take; 30 s. */
  answerTimeoutMs?: number;
}

/** How a relayed upgrade went: the upstream's status (101 once piped), or 502 when it was unreachable. */
export interface UpgradeOutcome {
  status: number;
  /** The reason of a failure (unreachable upstream, or the refusal's body). */
  message?: string;
}

/** The headers of an upgrade request that the next hop needs. */
export function upgradeHeaders(req: http.IncomingMessage): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = { connection: 'Upgrade' };
  for (const name of FORWARDED_HEADERS) {
    const v = req.headers[name];
    if (v !== undefined) out[name] = v;
  }
  return out;
}

/** An HTTP response written straight on a socket (a refused upgrade), then the socket is closed. */
export function writeRawResponse(socket: Duplex, status: number, contentType: string, body: string): void {
  if (socket.destroyed) return;
  const reason = http.STATUS_CODES[status] ?? 'Error';
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/**
 * Sends the upgrade request of req to target and, on a 101, writes the upstream's 101 (its headers
 * as sent) to socket and pipes both ways until either side closes; head (bytes the client sent after
 * its request) goes upstream first. A refusal is relayed as the upstream wrote it; an unreachable
 * upstream is answered with onUnreachable's response. Resolves when the exchange is over (the pipe
 * closed, or the refusal sent).
 */
export function relayUpgrade(
  req: http.IncomingMessage,
  socket: Duplex,
  head: Buffer,
  target: UpgradeTarget,
  onUnreachable: (message: string) => { status: number; contentType: string; body: string },
): Promise<UpgradeOutcome> {
  return new Promise<UpgradeOutcome>((resolve) => {
    let settled = false;
    const settle = (o: UpgradeOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(o);
    };
    const secure = target.url.protocol === 'https:';
    const options: https.RequestOptions = {
      // SPDY clients upgrade a POST, WebSocket clients a GET: the upstream sees the same.
      method: req.method ?? 'GET',
      hostname: target.url.hostname.replace(/^\[|\]$/g, ''),
      port: target.url.port || (secure ? 443 : 80),
      path: `${target.url.pathname}${target.url.search}`,
      headers: { ...upgradeHeaders(req), ...target.headers },
      agent: false,
      ...(secure && target.tls ? { ca: target.tls.caPem, cert: target.tls.certPem, key: target.tls.keyPem } : {}),
    };
    const upstream = secure ? https.request(options) : http.request(options);
    const unreachable = (message: string) => {
      upstream.destroy();
      const r = onUnreachable(message);
      writeRawResponse(socket, r.status, r.contentType, r.body);
      settle({ status: 502, message });
    };
    const timer = setTimeout(() => unreachable(`no answer from ${target.url.host} within ${(target.answerTimeoutMs ?? 30_000) / 1000}s`), target.answerTimeoutMs ?? 30_000);
    // The client hung up before the upstream answered: nothing to relay.
    const clientGone = () => {
      upstream.destroy();
      settle({ status: 499, message: 'the client went away' });
    };
    socket.once('close', clientGone);
    upstream.on('error', (err) => unreachable(`cannot reach ${target.url.host}: ${err.message}`));
    upstream.on('upgrade', (res, up, upHead) => {
      clearTimeout(timer);
      socket.off('close', clientGone);
      if (socket.destroyed) {
        up.destroy();
        settle({ status: 499, message: 'the client went away' });
        return;
      }
      const lines = [`HTTP/1.1 101 ${res.statusMessage || 'Switching Protocols'}`];
      for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (upHead.length > 0) socket.write(upHead);
      if (head.length > 0) up.write(head);
      up.setNoDelay?.(true);
      const end = () => {
        up.destroy();
        socket.destroy();
        settle({ status: 101 });
      };
      up.on('error', end);
      socket.on('error', end);
      up.on('close', end);
      socket.on('close', end);
      up.pipe(socket);
      socket.pipe(up);
    });
    upstream.on('response', (res) => {
      clearTimeout(timer);
      socket.off('close', clientGone);
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < MAX_REFUSAL_BYTES) chunks.push(c.subarray(0, MAX_REFUSAL_BYTES - size));
        size += c.length;
      });
      res.on('error', () => unreachable(`${target.url.host} cut its answer short`));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        writeRawResponse(socket, res.statusCode ?? 502, String(res.headers['content-type'] ?? 'text/plain; charset=utf-8'), body);
        settle({ status: res.statusCode ?? 502, message: body.trim() || undefined });
      });
    });
    upstream.end();
  });
}
