/**
 * A node session lives no longer than the client certificate that opened it. TLS checks the
 * certificate once, at the handshake; without this a node whose renewals kept failing (or whose key
 * was stolen) would keep its session, and everything it carries (pods' specs, logs and exec
 * traffic), for as long as the connection stays up. The kube-apiserver bounds this by closing
 * long-running requests after --min-request-timeout; here the session is closed at the certificate's
 * notAfter, and the agent reconnects with its renewed certificate.
 */
import type { WebSocket } from 'ws';
import { setLongTimeout, type LongTimeout } from '../../lib/index.js';

/** The close code of a session whose certificate expired (4000-4003 are taken by node-sessions/server). */
export const CERT_EXPIRED_CLOSE_CODE = 4004;

/**
 * Closes ws when notAfter has passed by now() (the scheduler's clock); checked again when the timer
 * fires, so a clock set back re-arms it. Cleared when ws closes. Returns the cancel function.
 */
export function closeAtCertificateExpiry(ws: WebSocket, notAfter: Date, now: () => Date, onExpired?: () => void): () => void {
  let timer: LongTimeout | undefined;
  const arm = () => {
    const left = notAfter.getTime() - now().getTime();
    if (left >= 0) {
      timer = setLongTimeout(arm, left + 1).unref();
      return;
    }
    timer = undefined;
    onExpired?.();
    ws.close(CERT_EXPIRED_CLOSE_CODE, 'the node certificate expired: reconnect with a renewed one');
  };
  const cancel = () => timer?.clear();
  ws.once('close', cancel);
  arm();
  return cancel;
}
