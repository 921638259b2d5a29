/**
 * The CRI streaming server: Exec, Attach and PortForward RPCs park their request under a single-use
 * token and answer with a URL on this HTTP(S) server (http://ADDR:PORT/exec/TOKEN, /attach/TOKEN,
 * /portforward/TOKEN, the kubelet's shapes). The client then upgrades that URL to SPDY/3.1 (crictl's
 * and the kubelet's default) or to a WebSocket (`crictl -r websocket`), and the session runs against
 * the StreamingBackend.
 */
import http from 'node:http';
import https from 'node:https';
import { readFile } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, createWebSocketStream, type WebSocket } from 'ws';
import { invalidArgument, CoreletError, silentLogger, type Logger } from '../lib/index.js';
import type { AttachRequest, ExecRequest, StreamingBackend, StreamIO } from './backend.js';
import { TokenCache } from './token-cache.js';
import { SpdySession } from './spdy-session.js';
import { serveSpdyCommand, type ChannelRequest } from './spdy-command.js';
import { serveWebSocketCommand } from './websocket-command.js';
import { servePortForward } from './port-forward.js';
import { SPDY_COMMAND_PROTOCOLS, WEBSOCKET_COMMAND_PROTOCOLS, headerList, negotiate, protocolVersion } from './remote-command.js';

/** The port-forward subprotocol, over SPDY directly or tunnelled in a WebSocket. */
const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';
const TUNNELED_PORT_FORWARD_PROTOCOL = `SPDY/3.1+${PORT_FORWARD_PROTOCOL}`;

export interface StreamingServerOptions {
  /** Listen address (default 127.0.0.1). */
  address?: string;
  /** Listen port (default 0: a free port, see url()). */
  port?: number;
  /** Serve HTTPS with these PEM files. */
  tls?: { cert: string; key: string };
  backend: StreamingBackend;
  logger?: Logger;
  /** Token lifetime (default 60 s). */
  tokenTtlMs?: number;
  /** Tokens waiting at once (default 1000); then request*() throws Unavailable. */
  maxInFlight?: number;
  /** How long a client may take to open its streams (default 30 s). */
  streamTimeoutMs?: number;
  /** How long a TTY session waits for the client's first terminal size (default FIRST_SIZE_WAIT_MS, 500 ms). */
  firstSizeWaitMs?: number;
  /** A connection with no traffic for this long is closed (default 4 h, the kubelet's). */
  idleTimeoutMs?: number;
  /** Clock of the token cache (tests). */
  now?: () => number;
}

/** An Exec RPC as the streaming server needs it. */
export interface ExecStreamRequest extends ExecRequest {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

/** An Attach RPC as the streaming server needs it. */
export interface AttachStreamRequest extends AttachRequest {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

/** A PortForward RPC: the sandbox, and the ports it may reach (none listed: any). */
export interface PortForwardStreamRequest {
  podSandboxId: string;
  ports?: number[];
}

type Pending =
  | { kind: 'exec'; req: ExecStreamRequest }
  | { kind: 'attach'; req: AttachStreamRequest }
  | { kind: 'portforward'; req: PortForwardStreamRequest };

const ROUTE = /^\/(exec|attach|portforward)\/([A-Za-z0-9_-]{1,64})\/?$/;

/** The runtime's streaming server. start() before the first request*(); close() releases it all. */
export class StreamingServer {
  private readonly tokens: TokenCache<Pending>;
  private readonly logger: Logger;
  private readonly backend: StreamingBackend;
  private readonly streamTimeoutMs: number;
  private readonly firstSizeWaitMs: number | undefined;
  private readonly idleTimeoutMs: number;
  private readonly sockets = new Set<Duplex>();
  private readonly wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: 16 * 1024 * 1024,
    handleProtocols: (_offered, req) => this.chosenProtocol.get(req) || false,
  });
  private readonly chosenProtocol = new WeakMap<http.IncomingMessage, string>();
  private server: http.Server | undefined;
  private baseUrl: string | undefined;

  constructor(private readonly opts: StreamingServerOptions) {
    this.backend = opts.backend;
    this.logger = opts.logger ?? silentLogger;
    this.streamTimeoutMs = opts.streamTimeoutMs ?? 30_000;
    this.firstSizeWaitMs = opts.firstSizeWaitMs;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 4 * 3600_000;
    this.tokens = new TokenCache<Pending>({ ttlMs: opts.tokenTtlMs, maxInFlight: opts.maxInFlight, now: opts.now });
  }

  /** Listens; url() is valid afterwards. */
  async start(): Promise<void> {
    if (this.server) return;
    const server = this.opts.tls
      ? https.createServer({ cert: await readFile(this.opts.tls.cert), key: await readFile(this.opts.tls.key) })
      : http.createServer();
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => this.onPlainRequest(req, res));
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
    server.on('connection', (socket: Socket) => this.track(socket));
    server.on('secureConnection', (socket: Socket) => this.track(socket));
    server.on('clientError', (_err: Error, socket: Duplex) => socket.destroy());
    const address = this.opts.address ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 0, address, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const port = (server.address() as AddressInfo).port;
    const host = address.includes(':') ? `[${address}]` : address;
    this.baseUrl = `${this.opts.tls ? 'https' : 'http'}://${host}:${port}`;
    this.server = server;
    this.logger.info({ url: this.baseUrl }, 'streaming server listening');
  }

  /** Stops listening and drops every open session (their backends see the abort signal). */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    for (const ws of this.wss.clients) ws.terminate();
    await closed;
  }

  /** The server's base URL (http://127.0.0.1:PORT). */
  url(): string {
    if (!this.baseUrl) throw new CoreletError('Unavailable', 'streaming server is not started');
    return this.baseUrl;
  }

  /** Connections currently open (tests check that sessions end). */
  get connectionCount(): number {
    return this.sockets.size;
  }

  /** Parks an Exec request; returns the URL its client connects to. */
  requestExec(req: ExecStreamRequest): string {
    if (req.cmd.length === 0) throw invalidArgument('exec: cmd must not be empty');
    validateChannels('exec', req);
    return this.park({ kind: 'exec', req: { ...req, cmd: [...req.cmd] } });
  }

  /** Parks an Attach request; returns the URL its client connects to. */
  requestAttach(req: AttachStreamRequest): string {
    validateChannels('attach', req);
    return this.park({ kind: 'attach', req: { ...req } });
  }

  /** Parks a PortForward request; returns the URL its client connects to. */
  requestPortForward(req: PortForwardStreamRequest): string {
    if (!req.podSandboxId) throw invalidArgument('port-forward: pod_sandbox_id is required');
    for (const p of req.ports ?? []) {
      if (!Number.isInteger(p) || p < 1 || p > 65535) throw invalidArgument(`port-forward: invalid port ${p}`);
    }
    return this.park({ kind: 'portforward', req: { podSandboxId: req.podSandboxId, ports: req.ports ? [...req.ports] : undefined } });
  }

  private park(pending: Pending): string {
    const base = this.url();
    return `${base}/${pending.kind}/${this.tokens.put(pending)}`;
  }

  private track(socket: Duplex): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  private onPlainRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const route = ROUTE.exec(new URL(req.url ?? '/', 'http://x').pathname);
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    if (!route) {
      res.writeHead(404).end('not found\n');
      return;
    }
    res.writeHead(400).end(`${route[1]} needs a connection upgrade to SPDY/3.1 or websocket\n`);
  }

  private onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', (err) => this.logger.debug({ err: err.message }, 'streaming socket error'));
    const route = ROUTE.exec(new URL(req.url ?? '/', 'http://x').pathname);
    const pending = route ? this.tokens.take(route[2]!) : undefined;
    if (!route || !pending || pending.kind !== route[1]) {
      return rejectUpgrade(socket, 404, 'unknown or expired streaming token\n');
    }
    const upgrade = (req.headers.upgrade ?? '').toLowerCase();
    if (upgrade === 'spdy/3.1') return this.upgradeSpdy(req, socket, head, pending);
    if (upgrade === 'websocket') return this.upgradeWebSocket(req, socket, head, pending);
    rejectUpgrade(socket, 400, `unsupported upgrade ${JSON.stringify(req.headers.upgrade)}: use SPDY/3.1 or websocket\n`);
  }

  private upgradeSpdy(req: http.IncomingMessage, socket: Duplex, head: Buffer, pending: Pending): void {
    const offered = headerList(req.headers['x-stream-protocol-version']);
    const ours = pending.kind === 'portforward' ? [PORT_FORWARD_PROTOCOL] : SPDY_COMMAND_PROTOCOLS;
    if (offered.length === 0) return rejectUpgrade(socket, 400, 'unable to upgrade: missing X-Stream-Protocol-Version header\n');
    const protocol = negotiate(offered, ours);
    if (!protocol) {
      return rejectUpgrade(
        socket,
        403,
        `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(' ')}], server accepts [${ours.join(' ')}]\n`,
        ours.map((p) => `X-Accepted-Stream-Protocol-Versions: ${p}`),
      );
    }
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${protocol}\r\n\r\n`,
    );
    this.prepareSocket(socket);
    if (head.length > 0) socket.unshift(head);
    const session = new SpdySession(socket, { role: 'server', logger: this.logger });
    session.setMaxListeners(0);
    this.logger.debug({ kind: pending.kind, protocol, transport: 'spdy' }, 'streaming session');
    const done =
      pending.kind === 'portforward'
        ? servePortForward({ session, ...pending.req, backend: this.backend, logger: this.logger, streamTimeoutMs: this.streamTimeoutMs })
        : serveSpdyCommand({
            session,
            version: protocolVersion(protocol),
            request: channelRequest(pending.req),
            run: this.runner(pending),
            logger: this.logger,
            streamTimeoutMs: this.streamTimeoutMs,
            lingerMs: 10_000,
            firstSizeWaitMs: this.firstSizeWaitMs,
          });
    done.catch((err: unknown) => {
      this.logger.warn({ err: String(err) }, 'streaming session failed');
      session.destroy();
    });
  }

  private upgradeWebSocket(req: http.IncomingMessage, socket: Duplex, head: Buffer, pending: Pending): void {
    const offered = headerList(req.headers['sec-websocket-protocol']);
    let protocol: string | undefined;
    if (pending.kind === 'portforward') {
      protocol = negotiate(offered, [TUNNELED_PORT_FORWARD_PROTOCOL]);
    } else {
      // A client offering nothing gets the original binary channel protocol, as from the kubelet.
      protocol = offered.length === 0 ? '' : negotiate(offered, WEBSOCKET_COMMAND_PROTOCOLS);
    }
    if (protocol === undefined) {
      const ours = pending.kind === 'portforward' ? [TUNNELED_PORT_FORWARD_PROTOCOL] : WEBSOCKET_COMMAND_PROTOCOLS;
      return rejectUpgrade(socket, 403, `requested protocol(s) are not supported: [${offered.join(' ')}]; supports [${ours.join(' ')}]\n`);
    }
    this.chosenProtocol.set(req, protocol);
    // ws accepts only RFC 6455 tokens as subprotocols, and client-go's port-forward tunnel offers
    // "SPDY/3.1+portforward.k8s.io" ('/' is not a token character). We have negotiated already, so
    // ws sees a stand-in token and handleProtocols answers with the real name.
    if (offered.length > 0) req.headers['sec-websocket-protocol'] = 'negotiated';
    this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      this.prepareSocket(socket);
      this.logger.debug({ kind: pending.kind, protocol, transport: 'websocket' }, 'streaming session');
      let done: Promise<void>;
      if (pending.kind === 'portforward') {
        const tunnel = createWebSocketStream(ws);
        tunnel.on('error', (err) => this.logger.debug({ err: err.message }, 'websocket tunnel error'));
        const session = new SpdySession(tunnel, { role: 'server', logger: this.logger });
        session.setMaxListeners(0);
        done = servePortForward({ session, ...pending.req, backend: this.backend, logger: this.logger, streamTimeoutMs: this.streamTimeoutMs });
      } else {
        done = serveWebSocketCommand({ ws, protocol: protocol!, request: channelRequest(pending.req), run: this.runner(pending), logger: this.logger, firstSizeWaitMs: this.firstSizeWaitMs });
      }
      done.catch((err: unknown) => {
        this.logger.warn({ err: String(err) }, 'streaming session failed');
        ws.terminate();
      });
    });
  }

  private prepareSocket(socket: Duplex): void {
    const s = socket as Socket;
    s.setNoDelay?.(true);
    s.setTimeout?.(this.idleTimeoutMs, () => {
      this.logger.info('closing idle streaming connection');
      s.destroy();
    });
  }

  private runner(pending: Pending): (io: StreamIO) => Promise<{ exitCode: number } | void> {
    if (pending.kind === 'exec') {
      const { containerId, cmd, tty } = pending.req;
      return (io) => this.backend.exec({ containerId, cmd, tty }, io);
    }
    if (pending.kind === 'attach') {
      const { containerId, tty } = pending.req;
      return async (io) => {
        await this.backend.attach({ containerId, tty }, io);
      };
    }
    throw new Error('port-forward has no command');
  }
}

function validateChannels(what: string, req: { containerId: string; tty: boolean; stdin: boolean; stdout: boolean; stderr: boolean }): void {
  if (!req.containerId) throw invalidArgument(`${what}: container_id is required`);
  if (req.tty && req.stderr) throw invalidArgument(`${what}: tty and stderr cannot both be true`);
  if (!req.stdin && !req.stdout && !req.stderr) throw invalidArgument(`${what}: one of stdin, stdout or stderr must be set`);
}

function channelRequest(req: ExecStreamRequest | AttachStreamRequest): ChannelRequest {
  return { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, tty: req.tty };
}

/** Answers an upgrade request with a plain HTTP error and closes the socket. */
function rejectUpgrade(socket: Duplex, status: number, body: string, extraHeaders: string[] = []): void {
  if (!socket.writable) return void socket.destroy();
  const lines = [
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}`,
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...extraHeaders,
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}
