/**
 * Helpers for the scheduler's exec requests: the command's output cut to what one message carries,
 * and failures (CoreletErrors, the runtime's gRPC errors) turned into the codes the scheduler maps
 * back to CoreletError kinds.
 */
import * as grpc from '@grpc/grpc-js';
import { MAX_EXEC_OUTPUT_BYTES, MAX_MESSAGE_BYTES, type PodRequestError, type PodRequestErrorCode } from '../../api/index.js';
import { CoreletError } from '../../lib/index.js';
import { grpcCode, grpcMessage } from '../../cri/index.js';

const CODE_OF_STATUS: Partial<Record<number, PodRequestErrorCode>> = {
  [grpc.status.NOT_FOUND]: 'NotFound',
  [grpc.status.INVALID_ARGUMENT]: 'InvalidArgument',
  [grpc.status.FAILED_PRECONDITION]: 'FailedPrecondition',
  [grpc.status.DEADLINE_EXCEEDED]: 'DeadlineExceeded',
  [grpc.status.UNAVAILABLE]: 'Unavailable',
};

/**
 * The error answer for a failure: a CoreletError keeps its kind, a CRI (gRPC) error maps by status
 * (NOT_FOUND → NotFound, FAILED_PRECONDITION → FailedPrecondition, ...), anything else is Internal.
 * context prefixes the message ("exec in container c of pod default/web: ...").
 */
export function requestErrorOf(err: unknown, context?: string): PodRequestError {
  let code: PodRequestErrorCode = 'Internal';
  const message = grpcMessage(err);
  const status = grpcCode(err);
  if (err instanceof CoreletError) {
    code = err.kind === 'NotFound' || err.kind === 'InvalidArgument' || err.kind === 'FailedPrecondition' || err.kind === 'DeadlineExceeded' || err.kind === 'Unavailable' ? err.kind : 'Internal';
  } else if (status !== undefined) {
    code = CODE_OF_STATUS[status] ?? 'Internal';
  }
  return { code, message: context ? `${context}: ${message}` : message };
}

/** The longest start of text that is at most maxBytes in UTF-8, never cut inside a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const bytes = Buffer.from(text, 'utf8');
  let end = maxBytes;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/** Room for the rest of an execResult (id, exit code, field names). */
const ENVELOPE_BYTES = 64 * 1024;

/**
 * A command's output as execResult carries it: each stream at most {@link MAX_EXEC_OUTPUT_BYTES}
 * (the rest is cut off), and less when JSON escaping (binary output) would make the message too
 * large. truncated says whether anything was cut.
 */
export function fitExecOutput(stdout: Buffer, stderr: Buffer): { stdout: string; stderr: string; truncated: boolean } {
  const out = stdout.toString('utf8');
  const err = stderr.toString('utf8');
  let max = MAX_EXEC_OUTPUT_BYTES;
  for (;;) {
    const o = truncateUtf8(out, max);
    const e = truncateUtf8(err, max);
    const size = Buffer.byteLength(JSON.stringify(o)) + Buffer.byteLength(JSON.stringify(e));
    if (size <= MAX_MESSAGE_BYTES - ENVELOPE_BYTES) return { stdout: o, stderr: e, truncated: o.length < out.length || e.length < err.length };
    max = Math.floor(max / 2);
  }
}
