import { createRequire } from 'node:module';
import { MAX_TIMER_MS } from '../lib/index.js';

/**
 * grpc-js (1.14) turns a request's grpc-timeout header into `(value * unit) | 0` milliseconds and a
 * setTimeout: past 2^31-1 ms the int32 wraps negative (or Node clamps it to 1 ms), so the call
 * fails with DEADLINE_EXCEEDED at once. `crictl stop --timeout 2147484` sends exactly such a
 * deadline (the stop timeout plus its own). For those, the server keeps the deadline (getDeadline)
 * but sets no timer: the client enforces its own deadline and cancels the stream when it passes,
 * which grpc-js turns into the call's cancellation. Shorter deadlines take grpc-js's own path.
 */

const DEADLINE_REGEX = /(\d{1,8})\s*([HMSmun])/;
const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** The milliseconds a grpc-timeout header value stands for, or undefined when it is not one. */
export function grpcTimeoutMs(header: string): number | undefined {
  const m = DEADLINE_REGEX.exec(header);
  return m ? Number(m[1]) * UNIT_MS[m[2]!]! : undefined;
}

interface TimeoutHandling {
  handleTimeoutHeader(this: { deadline: number }, header: unknown): void;
  __coreletLongDeadlines?: boolean;
}

let installed = false;

/** Makes grpc-js servers accept deadlines of any length (idempotent; see the module comment). */
export function acceptLongGrpcDeadlines(): void {
  if (installed) return;
  installed = true;
  const require = createRequire(import.meta.url);
  // grpc-js has no "exports" map: its build files are reachable; this one holds the server calls.
  const mod = require('@grpc/grpc-js/build/src/server-interceptors.js') as { BaseServerInterceptingCall?: { prototype: TimeoutHandling } };
  const proto = mod.BaseServerInterceptingCall?.prototype;
  if (!proto || typeof proto.handleTimeoutHeader !== 'function') {
    throw new Error('grpc-js changed: BaseServerInterceptingCall.handleTimeoutHeader is gone; re-check src/cri/grpc-deadline.ts');
  }
  if (proto.__coreletLongDeadlines) return;
  const original = proto.handleTimeoutHeader;
  proto.handleTimeoutHeader = function (this: { deadline: number }, header: unknown) {
    const ms = grpcTimeoutMs(String(header));
    if (ms !== undefined && ms > MAX_TIMER_MS) {
      this.deadline = Date.now() + ms;
      return;
    }
    original.call(this, header);
  };
  proto.__coreletLongDeadlines = true;
}
