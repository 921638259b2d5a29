import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ObjectEvent, Pod } from '../../api/index.js';
import { silentLogger, type Logger } from '../../lib/index.js';
import type { AgentMetrics } from './agent-metrics.js';

/** The kubelet's port; the agent serves the same read-only endpoints there. */
export const DEFAULT_AGENT_HTTP_PORT = 10250;
export const DEFAULT_AGENT_HTTP_ADDRESS = '0.0.0.0';

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
}

/** A running agent HTTP server. */
export interface AgentHttpServer {
  /** "http://address:port" with the port actually bound. */
  url: string;
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
 */
export async function startAgentHttpServer(opts: AgentHttpServerOptions): Promise<AgentHttpServer> {
  const logger = opts.logger ?? silentLogger;
  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ err, path: req.url }, 'agent http request failed');
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://agent').pathname;
    const known = path === '/healthz' || path === '/pods' || path === '/metrics' || path === '/events';
    if (!known) return send(res, 404, 'text/plain; charset=utf-8', '404 page not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    }
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
    url: `http://${host}:${bound.port}`,
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
