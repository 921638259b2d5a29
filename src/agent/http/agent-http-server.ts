import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ObjectEvent, Pod } from '../../api/index.js';
import { silentLogger, type Logger } from '../../lib/index.js';
import { certificateUser, MASTERS_GROUP, SCHEDULER_USER, type UserInfo } from '../../join/index.js';
import type { AgentMetrics } from './agent-metrics.js';
import type { AccessDecision, NodeResourceAttributes } from './sar-client.js';

/** The kubelet's port; the agent serves the same read-only endpoints there. */
export const DEFAULT_AGENT_HTTP_PORT = 10250;
export const DEFAULT_AGENT_HTTP_ADDRESS = '0.0.0.0';
/** Without a scheduler (no certificates to check clients against) the port is local only. */
export const STANDALONE_AGENT_HTTP_ADDRESS = '127.0.0.1';

/** The port's TLS when the node has joined: its certificate, and who may call. */
export interface AgentTlsOptions {
  keyPem: string;
  certPem: string;
  /** The cluster CA: client certificates must chain to it. */
  caPem: string;
  nodeName: string;
  /** Decides for users other than the scheduler and system:masters (a SubjectAccessReview). */
  authorize: (user: UserInfo, attrs: NodeResourceAttributes) => Promise<AccessDecision>;
}

/** Options for {@link startAgentHttpServer}. */
export interface AgentHttpServerOptions {
  /** Listen address; default 0.0.0.0. */
  address?: string;
  /** Listen port; default 10250; 0 picks a free one (see the returned url). */
  port?: number;
  /** The pods this node runs, as /pods lists them. */
  pods: () => Pod[];
  /** Events about the pods (Pulling, Started, BackOff, Evicted...), as /events lists them. */
  events?: () => ObjectEvent[];
  metrics: AgentMetrics;
  logger?: Logger;
  /**
   * HTTPS with the node's certificate: /healthz is anonymous, everything else needs a client
   * certificate of the cluster CA (401) and authorization (403). Without it: plain HTTP, no checks
   * (standalone agents, on 127.0.0.1 by default).
   */
  tls?: AgentTlsOptions;
}

/** A running agent HTTP server. */
export interface AgentHttpServer {
  /** "http(s)://address:port" with the port actually bound. */
  url: string;
  /** Serves with a new key and certificate (after a rotation); new connections get them. */
  setCredentials(creds: { keyPem: string; certPem: string; caPem: string }): void;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/** The body of /pods, the kubelet's shape. */
export interface PodList {
  kind: 'PodList';
  apiVersion: 'v1';
  items: Pod[];
}

/**
 * Serves the agent's read-only endpoints: GET /healthz ("ok"), /pods (a PodList as JSON), /events
 * (an EventList as JSON) and /metrics (Prometheus text). Other paths are 404, other methods 405.
 * With tls, only /healthz answers without a client certificate; others need the certificate and the
 * permission nodes/metrics (/metrics) or nodes/proxy (/pods, /events) on this node.
 */
export async function startAgentHttpServer(opts: AgentHttpServerOptions): Promise<AgentHttpServer> {
  const logger = opts.logger ?? silentLogger;
  const tls = opts.tls;
  const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ err, path: req.url }, 'agent http request failed');
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    });
  };
  const tlsOptions = (c: { keyPem: string; certPem: string; caPem: string }) => ({
    key: c.keyPem,
    cert: c.certPem,
    ca: c.caPem,
    requestCert: true,
    // Asked for, not required: /healthz is anonymous; the others answer 401 without one.
    rejectUnauthorized: false,
  });
  const server: http.Server | https.Server = tls ? https.createServer(tlsOptions(tls), listener) : http.createServer(listener);

  /** undefined when allowed; else the status and message to answer with. */
  async function deny(req: http.IncomingMessage, path: string): Promise<[number, string] | undefined> {
    if (!tls || path === '/healthz') return undefined;
    const user = certificateUser(req.socket as TLSSocket);
    if (!user) return [401, 'Unauthorized: present a client certificate issued by the cluster CA (only /healthz is anonymous)\n'];
    if (user.username === SCHEDULER_USER || user.groups.includes(MASTERS_GROUP)) return undefined;
    const attrs: NodeResourceAttributes = { verb: 'get', subresource: path === '/metrics' ? 'metrics' : 'proxy', name: tls.nodeName };
    const decision = await tls.authorize(user, attrs);
    if (decision.allowed) return undefined;
    return [403, `Forbidden: user ${user.username} cannot ${attrs.verb} nodes/${attrs.subresource} of node ${attrs.name}${decision.reason ? `: ${decision.reason}` : ''}\n`];
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://agent').pathname;
    const known = path === '/healthz' || path === '/pods' || path === '/metrics' || path === '/events';
    if (!known) return send(res, 404, 'text/plain; charset=utf-8', '404 page not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    }
    const refused = await deny(req, path);
    if (refused) return send(res, refused[0], 'text/plain; charset=utf-8', refused[1]);
    if (path === '/healthz') return send(res, 200, 'text/plain; charset=utf-8', 'ok');
    if (path === '/pods') {
      const body: PodList = { kind: 'PodList', apiVersion: 'v1', items: opts.pods() };
      return send(res, 200, 'application/json', JSON.stringify(body));
    }
    if (path === '/events') {
      return send(res, 200, 'application/json', JSON.stringify({ kind: 'EventList', apiVersion: 'v1', items: opts.events?.() ?? [] }));
    }
    send(res, 200, opts.metrics.contentType, await opts.metrics.text());
  }

  const address = opts.address ?? DEFAULT_AGENT_HTTP_ADDRESS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? DEFAULT_AGENT_HTTP_PORT, address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const host = bound.address.includes(':') ? `[${bound.address}]` : bound.address;
  logger.info({ address: bound.address, port: bound.port }, 'agent http server listening');
  return {
    url: `${tls ? 'https' : 'http'}://${host}:${bound.port}`,
    setCredentials: (c) => {
      if (server instanceof https.Server) server.setSecureContext(tlsOptions(c));
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Keep-alive clients would otherwise hold close() open.
        server.closeAllConnections();
      }),
  };
}

function send(res: http.ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
