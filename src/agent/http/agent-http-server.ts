import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { ObjectEvent, Pod } from '../../api/index.js';
import { certificateUser, MASTERS_GROUP, SCHEDULER_USER, type UserInfo } from '../../join/index.js';
import type { AgentMetrics } from './agent-metrics.js';
import type { AccessDecision, NodeResourceAttributes } from './sar-client.js';
import { CoreletError, messageOf, relayUpgrade, silentLogger, writeRawResponse, type Logger } from '../../lib/index.js';
import { parsePodStreamPath, type PodStreamRequest } from './pod-stream-paths.js';

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
  /**
   * The runtime's streaming URL for an exec, attach or port-forward (its CRI Exec/Attach/PortForward
   * answer). With it, upgrades of /exec/..., /attach/... and /portForward/... are relayed there (the
   * kubelet's paths); without, those paths are 404.
   */
  streamUrl?: (request: PodStreamRequest) => Promise<string>;
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
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {}); // a client that hangs up mid-answer is not our failure
    upgrade(req, socket, head).catch((err: unknown) => {
      logger.error({ err, path: req.url }, 'agent stream upgrade failed');
      refuse(socket, 500, 'InternalError', messageOf(err));
    });
  });

  /** undefined when allowed; else the status and message to answer with. */
  async function deny(req: http.IncomingMessage, path: string, verb: NodeResourceAttributes['verb'] = 'get'): Promise<[number, string] | undefined> {
    if (!tls || path === '/healthz') return undefined;
    const user = certificateUser(req.socket as TLSSocket);
    if (!user) return [401, 'Unauthorized: present a client certificate issued by the cluster CA (only /healthz is anonymous)\n'];
    if (user.username === SCHEDULER_USER || user.groups.includes(MASTERS_GROUP)) return undefined;
    const attrs: NodeResourceAttributes = { verb, subresource: path === '/metrics' ? 'metrics' : 'proxy', name: tls.nodeName };
    const decision = await tls.authorize(user, attrs);
    if (decision.allowed) return undefined;
    return [403, `Forbidden: user ${user.username} cannot ${attrs.verb} nodes/${attrs.subresource} of node ${attrs.name}${decision.reason ? `: ${decision.reason}` : ''}\n`];
  }

  /** Exec, attach and port-forward: authorized as create on nodes/proxy, then relayed to the runtime. */
  async function upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://agent');
    let request: PodStreamRequest | undefined;
    try {
      request = opts.streamUrl ? parsePodStreamPath(url.pathname, url.searchParams) : undefined;
    } catch (err) {
      return refuse(socket, 400, 'BadRequest', messageOf(err));
    }
    if (!request) return refuse(socket, 404, 'NotFound', `no stream at ${url.pathname}: /exec/NS/POD/CONTAINER, /attach/NS/POD/CONTAINER and /portForward/NS/POD are`);
    const refused = await deny(req, url.pathname, 'create');
    if (refused) return refuse(socket, refused[0], refused[0] === 401 ? 'Unauthorized' : 'Forbidden', refused[1].trim());
    let target: string;
    try {
      target = await opts.streamUrl!(request);
    } catch (err) {
      const [code, reason] = err instanceof CoreletError ? (STATUS_OF_KIND[err.kind] ?? [500, 'InternalError']) : [500, 'InternalError'];
      return refuse(socket, code, reason, messageOf(err));
    }
    const outcome = await relayUpgrade(req, socket, head, { url: new URL(target) }, (message) => {
      const body = statusBody(502, 'BadGateway', `the runtime's streaming server did not take the ${request.kind}: ${message}`);
      return { status: 502, contentType: 'application/json', body };
    });
    logger.debug({ kind: request.kind, pod: `${request.namespace}/${request.name}`, status: outcome.status, message: outcome.message }, 'agent stream ended');
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://agent').pathname;
    if (opts.streamUrl && /^\/(exec|attach|portForward|portforward)\//.test(path)) {
      return send(res, 400, 'application/json', statusBody(400, 'BadRequest', `${path} needs a connection upgrade (websocket or SPDY/3.1)`));
    }
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

/** CoreletError kinds → HTTP status and Status reason. */
const STATUS_OF_KIND: Partial<Record<string, [number, string]>> = {
  NotFound: [404, 'NotFound'],
  InvalidArgument: [400, 'BadRequest'],
  FailedPrecondition: [400, 'BadRequest'],
  Unavailable: [503, 'ServiceUnavailable'],
  DeadlineExceeded: [504, 'Timeout'],
};

/** A metav1.Status body (what kubectl prints of a refused stream). */
function statusBody(code: number, reason: string, message: string): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

function refuse(socket: Duplex, code: number, reason: string, message: string): void {
  writeRawResponse(socket, code, 'application/json', statusBody(code, reason, message));
}

function send(res: http.ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
