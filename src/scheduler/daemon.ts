/**
 * `corelet scheduler`: composes the control plane from its parts: the SQLite store, the PKI and
 * tokens, the HTTPS API and WSS node sessions, and the loops (scheduling, controllers, stale nodes).
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type Logger, NODE_PATHS, writeFileAtomic, messageOf } from '../lib/index.js';
import { MESSAGE_VERSION, type Pod } from '../api/index.js';
import { Store } from './store/index.js';
import { caCertHash, ensurePki, ensureSchedulerClientCert, MASTERS_GROUP, newTokenRecord, SERVER_VALIDITY_DAYS, servingSansOnDisk, startServingCertRenewal, TokenStore, type ServingCertRenewalOptions } from './auth/index.js';
import { AuditLog } from './rbac/index.js';
import type { AuthorizationMode } from './server/rest-access.js';
import { readConfigText, withInitContext } from './init-config.js';
import { assignPreboundPod, sendTermination, podCidrConfig, scheduleOnce, SchedulingCache, startSchedulerServer, type SchedulerServer } from './server/index.js';
import { EndpointsController, NodeLifecycleController, reconcileAllSliced, type NodeLifecycleConfig } from './controllers/index.js';
import { runControlPass } from './control-pass.js';
import { ServiceAllocator, serviceNetworkConfig } from './admission/index.js';
import { makeStatePrivate, tightenStateFiles } from './state-files.js';

/**
 * podEvictionTimeoutSeconds: after a NotReady node is tainted (40 s without heartbeats, rate limited
 * per zone), its pods are deleted (gracefully) this much later: 300 s, kube-controller-manager's
 * default; a pod may ask for another delay with a tolerationSeconds. See controllers/node-lifecycle.ts.
 */
export const SCHEDULER_DEFAULTS = { dir: NODE_PATHS.schedulerDir, address: '0.0.0.0', port: 6443, podEvictionTimeoutSeconds: 300 } as const;

/** How often the endpoints controller reconciles every Service, besides following the watch. */
const ENDPOINTS_RESYNC_MS = 30_000;

/** Where `scheduler init` writes the bootstrap token (0600), for `corelet agent --token-file`. */
export const BOOTSTRAP_TOKEN_FILE = 'bootstrap-token';

/** What `scheduler init` made: the join command's parts and the admin's API token. */
export interface InitResult {
  caCertHash: string;
  bootstrapToken: string;
  /** The 0600 file holding bootstrapToken (copy it to the node; pass it with --token-file). */
  tokenFile: string;
  adminToken: string;
  server: string;
  /** PEM of the cluster CA. */
  caCert: string;
}

/**
 * Creates (or reuses) the CA and server certificate for hosts, a new bootstrap token for agents and a
 * new API token for the admin, and writes the CLI config (~/.corelet/config) for the admin.
 */
export async function initScheduler(opts: { dir: string; hosts: string[]; port: number; configFile?: string; /** The bootstrap token's lifetime (default 24 h; 0: never expires), kubeadm's --token-ttl. */ tokenTtlSeconds?: number }): Promise<InitResult> {
  await makeStatePrivate(opts.dir); // 0700 also when the folder existed
  const dns = opts.hosts.filter((h) => !/^[\d.]+$|:/.test(h));
  const ips = opts.hosts.filter((h) => /^[\d.]+$|:/.test(h));
  const { pki } = await ensurePki(join(opts.dir, 'pki'), { dnsNames: dns, ips });
  const store = Store.open(join(opts.dir, 'state.db'));
  await tightenStateFiles(opts.dir);
  try {
    const bootstrap = newTokenRecord('bootstrap', { description: 'agent join token', ...(opts.tokenTtlSeconds ? { ttlSeconds: opts.tokenTtlSeconds } : {}) });
    if (opts.tokenTtlSeconds === 0) delete bootstrap.record.expires;
    const admin = newTokenRecord('api', { user: 'admin', groups: [MASTERS_GROUP], description: 'created by scheduler init' });
    new TokenStore(store).add(bootstrap.record, admin.record);
    const tokenFile = join(opts.dir, BOOTSTRAP_TOKEN_FILE);
    await writeFileAtomic(tokenFile, `${bootstrap.token}\n`, 0o600);
    const server = `https://${opts.hosts[0] ?? '127.0.0.1'}:${opts.port}`;
    const configFile = opts.configFile ?? join(homedir(), '.corelet', 'config');
    await mkdir(join(configFile, '..'), { recursive: true, mode: 0o700 });
    // The kubeconfig-like shape (clusters, users, contexts); an existing file keeps its other entries.
    await writeFile(configFile, JSON.stringify(withInitContext(await readConfigText(configFile), { server, token: admin.token, caCert: pki.ca.certPem }), null, 2) + '\n', { mode: 0o600 });
    // mode applies only when the file is created: an existing 0644 config must not keep the admin token readable.
    await chmod(configFile, 0o600);
    return { caCertHash: caCertHash(pki.ca.certPem), bootstrapToken: bootstrap.token, tokenFile, adminToken: admin.token, server, caCert: pki.ca.certPem };
  } finally {
    store.close();
  }
}

export interface RunningScheduler {
  readonly server: SchedulerServer;
  close(): Promise<void>;
}

/**
 * Serves the API and node sessions and runs the loops until closed. Nodes get pod CIDRs of
 * clusterCidr (default 10.244.0.0/16), one /nodeCidrMaskSize (default /24) each.
 */
export async function startScheduler(opts: {
  dir: string;
  address: string;
  port: number;
  logger: Logger;
  clusterCidr?: string;
  nodeCidrMaskSize?: number;
  /** The Services' cluster IP range (default 10.96.0.0/12; its .10 is kept for the cluster DNS). */
  serviceClusterIpRange?: string;
  /** The Services' node port range, "MIN-MAX" (default 30000-32767). */
  serviceNodePortRange?: string;
  /** How long a node may be NotReady before its controller-owned pods are replaced elsewhere. */
  podEvictionTimeoutMs?: number;
  /** The node lifecycle controller's other settings (grace periods, eviction rates, zone threshold). */
  nodeLifecycle?: Partial<NodeLifecycleConfig>;
  /** RBAC (default) or AlwaysAllow. */
  authorizationMode?: AuthorizationMode;
  /** The audit log file (default DIR/audit.log). */
  auditLogPath?: string;
  /** Lifetime of the node certificates it signs (default 30 days). */
  nodeCertTtlSeconds?: number;
  /** How long after expiry a node's newest certificate still renews (default 30 days; 0: never). */
  nodeCertExpiredRenewalWindowSeconds?: number;
  /** Watches and log follows end after 1×–2× this (default 1800 s, kube-apiserver's --min-request-timeout). */
  minRequestTimeoutSeconds?: number;
  /** SQLite's synchronous setting for the store (default NORMAL; FULL survives power loss too, at ~2 ms a write). */
  sqliteSynchronous?: 'FULL' | 'NORMAL';
  /** Lifetime of the serving certificate, renewed at 70–80% of it while running (default 1 year). */
  servingCertTtlSeconds?: number;
  /** The serving-certificate renewal's wall clock and timers (tests; default Date.now and unref'd timeouts). */
  servingCertClock?: Pick<ServingCertRenewalOptions, 'now' | 'setTimer'>;
}): Promise<RunningScheduler> {
  const podCidrs = podCidrConfig(opts.clusterCidr, opts.nodeCidrMaskSize);
  const services = new ServiceAllocator(serviceNetworkConfig(opts.serviceClusterIpRange, opts.serviceNodePortRange, podCidrs.clusterCidr));
  await makeStatePrivate(opts.dir); // pod specs with env values, tokens, the audit log: 0700, also on older installs
  const servingCertTtlSeconds = opts.servingCertTtlSeconds ?? SERVER_VALIDITY_DAYS * 86_400;
  const { pki } = await ensurePki(join(opts.dir, 'pki'), { ...(await servingSansOnDisk(join(opts.dir, 'pki'))), validitySeconds: servingCertTtlSeconds });
  // For the agents' HTTPS ports (system:masters there); nothing else signs with it.
  const agentClientCert = await ensureSchedulerClientCert(join(opts.dir, 'pki'), pki.ca);
  // synchronous=NORMAL by default: a commit is in the WAL when it returns, so a killed or crashed
  // scheduler loses nothing (store-durability test); a power cut or kernel crash can take the commits
  // since the WAL was last synced (at checkpoints). FULL fsyncs every commit on the event loop: about
  // 2 ms per heartbeat, pod status or apply on this project's disk, 4-8x NORMAL, a ceiling of ~500
  // writes/s (bench/store-sync.ts, bench/README.md); 5,000 nodes' heartbeats alone are 500/s.
  const store = Store.open(join(opts.dir, 'state.db'), { logger: opts.logger, synchronous: opts.sqliteSynchronous ?? 'NORMAL' });
  await tightenStateFiles(opts.dir); // state.db and its -wal/-shm 0600
  const audit = new AuditLog(opts.auditLogPath ?? join(opts.dir, 'audit.log'));
  let pending = false;
  // Heartbeat staleness and node loss depend on the clock, not on writes: the 1 s timer checks them,
  // so the passes that follow each write (a registration, an apply) do not read every node for them.
  let periodicDue = true;
  const cache = new SchedulingCache(store);
  const tokenStore = new TokenStore(store);
  // Every node gets a full grace period from this start: stored heartbeat times are not judged.
  const lifecycle = new NodeLifecycleController(new Date(), {
    ...opts.nodeLifecycle,
    podEvictionTimeoutMs: opts.podEvictionTimeoutMs ?? opts.nodeLifecycle?.podEvictionTimeoutMs ?? SCHEDULER_DEFAULTS.podEvictionTimeoutSeconds * 1000,
  });
  // EndpointSlices follow the store's watch, not the control passes: a pod status an agent reports, a
  // deletion, a node's readiness reach the slices ~10 ms after they are stored (issue 12's "within one
  // second"), and only the Services they concern are reconciled. A resync every 30 s is the safety net.
  const endpoints = new EndpointsController(store, {
    onPass: (r) => {
      for (const f of r.failures) opts.logger.error({ object: f.object, err: f.error }, `endpoints: ${f.object} failed (retried in 1 s)`);
    },
  });
  endpoints.start();
  // One pass at a time; writes during a pass ask for one more after it (coalesced). The controllers'
  // part yields to the event loop every 20 ms (reconcileAllSliced), so a pass over thousands of
  // objects does not hold requests and heartbeats for seconds.
  let running = false;
  let closed = false;
  const pass = async () => {
    if (closed) return;
    pending = false;
    running = true;
    try {
      const now = new Date();
      const periodic = periodicDue;
      periodicDue = false;
      await runControlPass({
        periodic,
        lifecycle: () => lifecycle.pass(store, now),
        reconcile: () => reconcileAllSliced(store, now, { nodeLoss: false, endpoints: false, stopped: () => closed }),
        schedule: () => scheduleOnce(store, server.sessions, now, cache),
        stopped: () => closed,
        logger: opts.logger,
      });
    } catch (err) {
      opts.logger.error({ err: messageOf(err) }, 'control loop failed');
    } finally {
      running = false;
      if (pending && !closed) setImmediate(() => void pass());
    }
  };
  const loop = () => {
    if (pending) return;
    pending = true;
    if (!running) setImmediate(() => void pass());
  };
  const server = await startSchedulerServer({
    store,
    pki,
    address: opts.address,
    port: opts.port,
    logger: opts.logger,
    tokenLookup: (id) => tokenStore.lookup(id),
    addToken: (record) => tokenStore.add(record),
    bootstrapTokens: tokenStore,
    nodeCertTtlSeconds: opts.nodeCertTtlSeconds,
    nodeCertExpiredRenewalWindowSeconds: opts.nodeCertExpiredRenewalWindowSeconds,
    authorizationMode: opts.authorizationMode,
    minRequestTimeoutSeconds: opts.minRequestTimeoutSeconds,
    agentClientCert,
    audit,
    onChange: loop,
    podCidrs,
    services,
  });
  // The serving certificate is renewed while running, not only at start (issue 10).
  const servingCert = startServingCertRenewal({ pkiDir: join(opts.dir, 'pki'), ca: pki.ca, current: pki.server, ttlSeconds: servingCertTtlSeconds, apply: (cert) => server.setServingCertificate(cert), logger: opts.logger, ...opts.servingCertClock });
  // A pod removed from the store by anyone (a controller scaling down, a cascade) leaves its node;
  // a pod marked for graceful deletion is stopped by its node within its grace period, which confirms.
  const unwatch = store.watch((change) => {
    if (change.kind !== 'Pod') return;
    const pod = change.object as unknown as Pod;
    if (!pod.spec?.nodeName) return;
    if (change.type === 'ADDED') {
      // Created already bound (spec.nodeName): after the write has committed, send it to its node.
      setImmediate(() => {
        try {
          assignPreboundPod(store, server.sessions, pod);
        } catch (err) {
          opts.logger.warn({ err: messageOf(err), pod: pod.metadata.name }, 'cannot send a pre-bound pod to its node');
        }
      });
      return;
    }
    if (change.type === 'DELETED') {
      server.sessions.send(pod.spec.nodeName, { v: MESSAGE_VERSION, type: 'unassign', uid: pod.metadata.uid });
      return;
    }
    if (pod.metadata.deletionTimestamp !== undefined) sendTermination(server.sessions, pod);
  });
  const timer = setInterval(() => {
    periodicDue = true;
    loop();
  }, 1000);
  const endpointsResync = setInterval(() => endpoints.resync(), ENDPOINTS_RESYNC_MS);
  opts.logger.info({ url: server.url, caCertHash: caCertHash(pki.ca.certPem) }, 'corelet scheduler serving');
  return {
    server,
    async close() {
      closed = true;
      servingCert.stop();
      clearInterval(timer);
      clearInterval(endpointsResync);
      endpoints.close();
      unwatch();
      cache.close();
      await server.close();
      audit.close();
      store.close();
    },
  };
}
