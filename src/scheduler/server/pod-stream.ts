/**
 * pods/exec, pods/attach and pods/portforward as kubectl streams them: a connection upgrade
 * (WebSocket with the v5/v4.channel.k8s.io subprotocols, the port-forward's SPDY/3.1 tunnelled in a
 * WebSocket as "SPDY/3.1+portforward.k8s.io", or a plain SPDY/3.1 upgrade) on
 * /api/v1/namespaces/NS/pods/NAME/{exec,attach,portforward}. The caller is authenticated and
 * authorized (create on the subresource, as kube-apiserver asks of a WebSocket upgrade), then the
 * upgrade is relayed to the pod's node: the agent's port (the kubelet's /exec/NS/POD/UID/CONTAINER,
 * /attach/..., /portForward/NS/POD/UID) with the scheduler's client certificate, and the agent
 * relays it to its runtime's streaming server. The bytes flow end to end unchanged, so the channel
 * protocol (stdin/stdout/stderr/error/resize, close, the exit code in the error channel's Status) is
 * the runtime's streaming server's.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Node, Pod } from '../../api/index.js';
import { CoreletError, messageOf, relayUpgrade, writeRawResponse, type Logger } from '../../lib/index.js';
import { AccessError, auditFinished, checkAccess, type AccessContext, type AccessOptions } from './rest-access.js';
import { resolveContainer } from './pod-proxy.js';

/** The kubelet's port, where an agent serves streams unless its Node says otherwise. */
export const DEFAULT_AGENT_PORT = 10250;

const STREAM_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/(exec|attach|portforward)$/;

/** What the relay needs besides access control. */
export interface PodStreamOptions extends AccessOptions {
  logger: Logger;
  /** The scheduler's client certificate for the agents' ports, and the cluster CA they are checked against. */
  agentClient?: { caPem: string; certPem: string; keyPem: string };
}

/** True for the paths {@link handlePodStreamUpgrade} serves. */
export function isPodStreamPath(pathname: string): boolean {
  return STREAM_PATH.test(pathname);
}

/** A failure before anything was relayed: a Status with this code and reason. */
class StreamRefusal extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const STATUS_OF_KIND: Partial<Record<string, [number, string]>> = {
  NotFound: [404, 'NotFound'],
  InvalidArgument: [400, 'BadRequest'],
  FailedPrecondition: [400, 'BadRequest'],
  Unavailable: [503, 'ServiceUnavailable'],
};

function statusBody(code: number, reason: string, message: string): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

/** The node's address the scheduler reaches its agent at: its InternalIP (else any address). */
export function agentAddress(node: Node): string | undefined {
  const addrs = node.status?.addresses ?? [];
  return (addrs.find((a) => a.type === 'InternalIP') ?? addrs.find((a) => a.type === 'ExternalIP'))?.address;
}

/** The agent's URL for the stream: the kubelet's path with the pod's uid, and the caller's options. */
export function agentStreamUrl(node: Node, pod: Pod, sub: 'exec' | 'attach' | 'portforward', container: string | undefined, query: URLSearchParams): URL {
  const address = agentAddress(node);
  if (!address) throw new StreamRefusal(503, 'ServiceUnavailable', `node ${node.metadata.name} reports no address: its agent cannot be reached`);
  const endpoint = node.status.daemonEndpoints?.kubeletEndpoint.Port;
  const port = endpoint && endpoint > 0 ? endpoint : DEFAULT_AGENT_PORT;
  const host = address.includes(':') ? `[${address}]` : address;
  const e = encodeURIComponent;
  const { namespace, name, uid } = pod.metadata;
  const path = sub === 'portforward' ? `/portForward/${e(namespace!)}/${e(name)}/${e(uid!)}` : `/${sub}/${e(namespace!)}/${e(name)}/${e(uid!)}/${e(container!)}`;
  const q = new URLSearchParams();
  for (const [k, v] of query) if (k !== 'container') q.append(k, v);
  const search = q.toString();
  return new URL(`https://${host}:${port}${path}${search ? `?${search}` : ''}`);
}

/**
 * Serves one upgrade of a pod stream path (see {@link isPodStreamPath}); resolves when the stream is
 * over. Refusals are answered as Status bodies (401, 403, 404, 400 for a pod not on a node...).
 */
export async function handlePodStreamUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, opts: PodStreamOptions): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://scheduler');
  const m = STREAM_PATH.exec(url.pathname);
  if (!m) return writeRawResponse(socket, 404, 'application/json', statusBody(404, 'NotFound', `no stream at ${url.pathname}`));
  const [ns, name] = [decodeURIComponent(m[1]!), decodeURIComponent(m[2]!)];
  const sub = m[3] as 'exec' | 'attach' | 'portforward';
  let access: AccessContext | undefined;
  let code = 500;
  let failure: string | undefined;
  try {
    // A WebSocket upgrade is a GET; kube-apiserver asks for create on the subresource too (the verb of
    // the POST that SPDY clients sent): only create is asked here.
    const asCreate = Object.assign(Object.create(req) as IncomingMessage, { method: 'POST' });
    access = checkAccess(asCreate, url, opts);
    if (url.searchParams.has('dryRun')) throw new StreamRefusal(400, 'BadRequest', `dryRun is not supported by pods/${sub}: a stream cannot be dry`);
    const pod = opts.store.get<Pod>('Pod', ns, name);
    if (!pod) throw new StreamRefusal(404, 'NotFound', `pods "${name}" not found`);
    const container = sub === 'portforward' ? undefined : resolveContainer(pod, url.searchParams.get('container') ?? undefined);
    const nodeName = pod.spec.nodeName;
    if (!nodeName) throw new StreamRefusal(400, 'BadRequest', `pod ${ns}/${name} does not have a host assigned`);
    const node = opts.store.get<Node>('Node', '', nodeName);
    if (!node) throw new StreamRefusal(503, 'ServiceUnavailable', `node ${nodeName} of pod ${ns}/${name} is not registered`);
    if (!opts.agentClient) throw new StreamRefusal(501, 'NotImplemented', 'this scheduler has no client certificate for the agents\' ports: it cannot reach pods\' streams');
    const target = agentStreamUrl(node, pod, sub, container, url.searchParams);
    const outcome = await relayUpgrade(req, socket, head, { url: target, tls: opts.agentClient }, (message) => ({
      status: 503,
      contentType: 'application/json',
      body: statusBody(503, 'ServiceUnavailable', `cannot reach the agent of node ${nodeName} for the ${sub} in pod ${ns}/${name}: ${message}`),
    }));
    code = outcome.status === 101 ? 200 : outcome.status;
    failure = outcome.message;
    opts.logger.debug({ pod: `${ns}/${name}`, sub, node: nodeName, status: outcome.status, message: outcome.message }, 'pod stream ended');
  } catch (err) {
    const [status, reason] =
      err instanceof StreamRefusal || err instanceof AccessError
        ? [err.code, err.reason]
        : err instanceof CoreletError
          ? (STATUS_OF_KIND[err.kind] ?? [500, 'InternalError'])
          : [500, 'InternalError'];
    if (status === 500) opts.logger.error({ err, url: req.url }, 'pod stream failed');
    code = status;
    failure = messageOf(err);
    writeRawResponse(socket, status, 'application/json', statusBody(status, reason, messageOf(err)));
  } finally {
    if (access) {
      if (failure && code >= 400) access.failure = failure;
      try {
        auditFinished(opts, access, code);
      } catch (err) {
        opts.logger.error({ err }, 'could not write the audit record');
      }
    }
  }
}
