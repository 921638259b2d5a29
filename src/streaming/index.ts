/**
 * The CRI streaming library (as k8s.io/cri-streaming is for containerd and CRI-O): the server that
 * Exec, Attach and PortForward URLs point at (exec, attach, port-forward over SPDY/3.1 and WebSocket,
 * single-use tokens) and the backend contract a runtime implements for it. It imports lib/ only: it
 * knows nothing of the CRI types, the runtime or its callers.
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
