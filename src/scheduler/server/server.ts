/**
 * The scheduler's one HTTPS server: the REST API under /api (API tokens) and the agents' WebSocket
 * endpoint /nodes (node client certificates, obtained with a bootstrap token from csr-api.ts), both over the scheduler's own TLS certificate.
 */
import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer } from 'ws';
import { MAX_MESSAGE_BYTES, MESSAGE_VERSION, type Node, type PeersMessage } from '../../api/index.js';
import { silentLogger, type Logger } from '../../lib/index.js';
import { certificateUser, NodeCertificates, nodeNameOf, serverTlsOptions, type CertKeyPair, type Pki, type TokenRecord, type TokenStore } from '../auth/index.js';
import type { Store } from '../store/index.js';
import { ensureBuiltinNamespaces } from '../admission/index.js';
import type { ServiceAllocator } from '../admission/index.js';
import { NodeSessions, serveNodeSocket } from './node-sessions.js';
import { certificateIps } from './node-restriction.js';
import { PeerTable, type PodCidrConfig } from './pod-cidr.js';
import { ServiceFeed } from './service-feed.js';
import { SessionPodProxy, type PodProxy } from './pod-proxy.js';
import { handleApiRequest } from './rest-api.js';
import type { AuthorizationMode } from './rest-access.js';
import { reconcileBuiltinRbac, type AuditSink } from '../rbac/index.js';
import { closeAtCertificateExpiry } from './session-expiry.js';
import { DEFAULT_NODE_CERT_EXPIRED_RENEWAL_WINDOW_SECONDS, DEFAULT_NODE_CERT_TTL_SECONDS, handleCsrRequest, CSR_PATH } from './csr-api.js';
import { assignBoundPods } from './schedule-once.js';
import { handlePodStreamUpgrade, isPodStreamPath } from './pod-stream.js';

/** How long node changes are gathered before the agents get the new peers list. */
const PEERS_COALESCE_MS = 200;

/** The path agents open their WebSocket on. */
export const NODES_PATH = '/nodes';

/** Options of {@link startSchedulerServer}. */
export interface SchedulerServerOptions {
  store: Store;
  pki: Pki;
  /** Address to listen on, e.g. "0.0.0.0" or "127.0.0.1". */
  address: string;
  /** Port; 0 picks a free one (see the returned url). */
  port: number;
  logger?: Logger;
  /** Finds a stored token record by its public id (bootstrap and API tokens). */
  tokenLookup: (id: string) => TokenRecord | undefined;
  /** The sessions map to fill (to share with a scheduling loop); a new one by default. */
  sessions?: NodeSessions;
  /** Heartbeat interval told to agents in `registered`. */
  heartbeatIntervalSeconds?: number;
  /** Clock (tests). */
  now?: () => Date;
  /**
   * Pod CIDR allocation: when set, each registering node gets a block of the cluster CIDR, and every
   * agent is sent `peers` (the nodes' pod CIDRs and InternalIPs) after `registered` and on changes.
   */
  podCidrs?: PodCidrConfig;
  /** Cluster IPs and node ports of Services (the default service range and node ports when absent). */
  services?: ServiceAllocator;
  /** Called after a node registers or pods are created/applied: a hint to run the scheduling loop. */
  onChange?: () => void;
  /** RBAC (default) or AlwaysAllow; the audit log; where new users' and service accounts' tokens go. */
  authorizationMode?: AuthorizationMode;
  audit?: AuditSink;
  addToken?: (record: TokenRecord) => void;
  /** Bootstrap token records, for /api/v1/bootstraptokens. */
  bootstrapTokens?: TokenStore;
  /** Lifetime of the node certificates the scheduler signs; {@link DEFAULT_NODE_CERT_TTL_SECONDS} by default. */
  nodeCertTtlSeconds?: number;
  /** How long after its expiry a node's newest certificate still renews, seconds; {@link DEFAULT_NODE_CERT_EXPIRED_RENEWAL_WINDOW_SECONDS} by default, 0: never. */
  nodeCertExpiredRenewalWindowSeconds?: number;
  /** Watches and log follows end after 1×–2× this many seconds (default 1800, as kube-apiserver's --min-request-timeout). */
  minRequestTimeoutSeconds?: number;
  /** The scheduler's client certificate for the agents' ports (exec, attach, port-forward); those answer 501 without. */
  agentClientCert?: CertKeyPair;
}

/** A running scheduler server. */
export interface SchedulerServer {
  /** "https://HOST:PORT" (the WebSocket endpoint is wss://HOST:PORT/nodes). */
  url: string;
  port: number;
  sessions: NodeSessions;
  /** Pod logs and exec through the nodes' agents (what the REST API's log and exec routes use). */
  podProxy: PodProxy;
  /** Serves a renewed certificate (same CA) to new connections; open ones keep their session. */
  setServingCertificate(server: CertKeyPair): void;
  /** Closes node sockets and the listener; resolves when the server has stopped. */
  close(): Promise<void>;
}

/** Refuses an upgrade with a plain HTTP response, then drops the connection. */
function refuseUpgrade(socket: Socket, code: number, reason: string, message: string): void {
  const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, message, code });
  socket.end(
    `HTTP/1.1 ${code} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * Starts the HTTPS server and resolves once it listens. Agents connect to wss://.../nodes with their
 * node client certificate (system:node:<name>); the CLI calls /api/v1/... with an API token.
 */
export async function startSchedulerServer(opts: SchedulerServerOptions): Promise<SchedulerServer> {
  const logger = opts.logger ?? silentLogger;
  const now = opts.now ?? (() => new Date());
  ensureBuiltinNamespaces(opts.store); // default and kube-system exist from the start
  const sessions = opts.sessions ?? new NodeSessions();
  const podProxy = new SessionPodProxy(sessions, { logger: logger.child({ component: 'pod-proxy' }) });
  const server = https.createServer(serverTlsOptions(opts.pki));
  // The built-in roles and bindings (cluster-admin for system:masters, admin, edit, view...).
  reconcileBuiltinRbac(opts.store);
  const access = { authorizationMode: opts.authorizationMode, audit: opts.audit, pki: opts.pki, addToken: opts.addToken, minRequestTimeoutSeconds: opts.minRequestTimeoutSeconds };
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  const sockets = new Set<Socket>();
  // Every agent routes to the others' pod CIDRs: tell them all whenever that list changes.
  const peers = opts.podCidrs ? new PeerTable(opts.store.list<Node>('Node') as unknown as Node[]) : undefined;
  const peersMessage = (): PeersMessage => ({ v: MESSAGE_VERSION, type: 'peers', nodes: peers?.list() ?? [] });
  // Changes are coalesced: when hundreds of nodes register at once, every agent gets one list per
  // PEERS_COALESCE_MS, not one per registration (that would be quadratic in the number of nodes).
  let peersTimer: NodeJS.Timeout | undefined;
  // Services and EndpointSlices for the nodes' data plane: a snapshot at registration, then deltas.
  const serviceFeed = new ServiceFeed(opts.store, sessions, undefined, (problems) => logger.warn({ problems }, 'a Service or EndpointSlice the nodes cannot use goes out as deleted'), opts.podCidrs?.clusterCidr);
  const unwatchPeers = peers
    ? opts.store.watch((change) => {
        if (change.kind !== 'Node' || !peers.apply(change.type, change.object as unknown as Node)) return;
        peersTimer ??= setTimeout(() => {
          peersTimer = undefined;
          sessions.broadcast(peersMessage());
        }, PEERS_COALESCE_MS);
      })
    : undefined;

  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('tlsClientError', (err) => logger.debug({ err }, 'TLS handshake failed'));
  const expiredRenewalWindowSeconds = opts.nodeCertExpiredRenewalWindowSeconds ?? DEFAULT_NODE_CERT_EXPIRED_RENEWAL_WINDOW_SECONDS;
  const certificates = new NodeCertificates(opts.store, { expiredRenewalWindowMs: expiredRenewalWindowSeconds * 1000 });
  const schedulerCert = new X509Certificate(opts.pki.server.certPem);
  // A deleted Node's certificates open nothing any more, and its live session ends.
  const unwatchNodes = opts.store.watch((change) => {
    if (change.kind !== 'Node' || change.type !== 'DELETED') return;
    certificates.revoke(change.object.metadata.name);
    sessions.disconnect(change.object.metadata.name, 4001, 'the Node was deleted: its certificate is revoked');
  });
  const csr = { store: opts.store, ca: opts.pki.ca, serverCertPem: opts.pki.server.certPem, certificates, tokenLookup: opts.tokenLookup, ttlSeconds: opts.nodeCertTtlSeconds ?? DEFAULT_NODE_CERT_TTL_SECONDS, expiredRenewalWindowSeconds, now, logger };
  server.on('request', (req, res) => {
    if (handleCsrRequest(req, res, csr)) return;
    void handleApiRequest(req, res, { store: opts.store, sessions, tokenLookup: opts.tokenLookup, logger, now, onPodsChanged: opts.onChange, podProxy, bootstrapTokens: opts.bootstrapTokens, nodeCertificates: certificates, services: opts.services, ...access });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => {}); // a client that hangs up mid-refusal is not our failure
    const path = new URL(req.url ?? '/', 'https://scheduler').pathname;
    if (isPodStreamPath(path)) {
      const agentClient = opts.agentClientCert && { caPem: opts.pki.ca.certPem, certPem: opts.agentClientCert.certPem, keyPem: opts.agentClientCert.keyPem };
      void handlePodStreamUpgrade(req, socket, head, { store: opts.store, tokenLookup: opts.tokenLookup, logger, now, nodeCertificates: certificates, ...access, ...(agentClient ? { agentClient } : {}) });
      return;
    }
    if (path !== NODES_PATH) return refuseUpgrade(socket, 404, 'NotFound', `no WebSocket endpoint at ${path}; agents connect to ${NODES_PATH}`);
    // Sessions are for nodes' certificates only: a bootstrap token just gets one (csr-api.ts).
    const user = certificateUser(req.socket as unknown as TLSSocket, now());
    const certNode = user && nodeNameOf(user);
    if (!certNode) {
      const what = req.headers.authorization ? 'a bearer token does not open a node session' : 'no node client certificate was presented';
      return refuseUpgrade(socket, 401, 'Unauthorized', `${what}: nodes connect with the certificate they get from ${CSR_PATH} with their bootstrap token (corelet agent --token-file)`);
    }
    const serial = (req.socket as unknown as TLSSocket).getPeerCertificate().serialNumber ?? '';
    if (!certificates.valid(certNode, serial)) {
      logger.warn({ remote: socket.remoteAddress, node: certNode }, 'node connection refused: certificate no longer valid');
      return refuseUpgrade(socket, 401, 'Unauthorized', `the certificate of node ${certNode} is no longer valid (the node was deleted or its certificate replaced): rejoin with a bootstrap token`);
    }
    const notAfter = new Date(new X509Certificate((req.socket as unknown as TLSSocket).getPeerCertificate().raw).validTo);
    wss.handleUpgrade(req, socket, head, (ws) => {
      // TLS checked the certificate once: the session ends when it expires (the agent reconnects with its renewed one).
      closeAtCertificateExpiry(ws, notAfter, now, () => logger.warn({ node: certNode, expired: notAfter.toISOString() }, 'node session closed: its client certificate expired'));
      serveNodeSocket(ws, {
        store: opts.store,
        sessions,
        logger,
        now,
        heartbeatIntervalSeconds: opts.heartbeatIntervalSeconds,
        podCidrs: opts.podCidrs,
        authenticatedNode: certNode,
        addresses: {
          own: certificateIps((req.socket as unknown as TLSSocket).getPeerCertificate().subjectaltname),
          owner: (ip) => certificates.ipOwner(ip, certNode, now()),
          shared: (ip) => schedulerCert.checkIP(ip) !== undefined,
        },
        onRegistered: (nodeName) => {
          if (peers) sessions.send(nodeName, peersMessage());
          serviceFeed.snapshot(nodeName);
          // A reconnecting agent gets its pods again: it may have missed assigns while away.
          assignBoundPods(opts.store, sessions, nodeName, logger);
          opts.onChange?.();
        },
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.address.includes(':') ? `[${opts.address}]` : opts.address;
  logger.info({ address: opts.address, port }, 'scheduler server listening');

  return {
    url: `https://${host}:${port}`,
    port,
    sessions,
    podProxy,
    setServingCertificate: (cert) => server.setSecureContext(serverTlsOptions({ ca: opts.pki.ca, server: cert })),
    close: async () => {
      unwatchPeers?.();
      serviceFeed.close();
      unwatchNodes();
      clearTimeout(peersTimer);
      podProxy.close();
      sessions.closeAll();
      for (const client of wss.clients) client.terminate();
      wss.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
