/**
 * The CRI streaming server (exec, attach, port-forward over SPDY/3.1 and WebSocket) and the
 * backend contract it runs against.
 */
export type { StreamingBackend, StreamIO, ExecRequest, AttachRequest, PortForwardRequest, TerminalSize } from './backend.js';
export {
  StreamingServer,
  type StreamingServerOptions,
  type ExecStreamRequest,
  type AttachStreamRequest,
  type PortForwardStreamRequest,
} from './server.js';
export { TokenCache, type TokenCacheOptions } from './token-cache.js';
export { SpdySession, SpdyStream, type SpdySessionOptions } from './spdy-session.js';
export type { SpdyHeaders } from './spdy-headers.js';
