/**
 * Reading a failed gRPC call, once: its status code and the message the server sent. grpc-js rejects
 * a call with a ServiceError ({code, details, metadata}); everything that looks at a CRI call's
 * failure goes through these helpers instead of unpicking the error by hand (the other direction,
 * CoreletError → status, is cri/server.ts's toServiceError).
 */
import * as grpc from '@grpc/grpc-js';
import { messageOf } from '../lib/index.js';

/** The gRPC status code of a failed call; undefined for an error that carries none. */
export function grpcCode(err: unknown): grpc.status | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'number' ? code : undefined;
}

/** The status name of a failed call ("DEADLINE_EXCEEDED"), or "UNKNOWN" for any other error. */
export function grpcCodeName(err: unknown): string {
  const code = grpcCode(err);
  return code !== undefined && typeof grpc.status[code] === 'string' ? grpc.status[code] : 'UNKNOWN';
}

/** True when err is a gRPC failure with this status code. */
export function hasGrpcCode(err: unknown, code: grpc.status): boolean {
  return grpcCode(err) === code;
}

/** NOT_FOUND: the container, sandbox or image is not there (any more). */
export const isNotFound = (err: unknown): boolean => hasGrpcCode(err, grpc.status.NOT_FOUND);
/** UNAVAILABLE: nothing answers on the socket. */
export const isUnavailable = (err: unknown): boolean => hasGrpcCode(err, grpc.status.UNAVAILABLE);
/** DEADLINE_EXCEEDED: the call (or the command it ran) ran out of time. */
export const isDeadlineExceeded = (err: unknown): boolean => hasGrpcCode(err, grpc.status.DEADLINE_EXCEEDED);

/**
 * What a user should read about a failure: a gRPC error's details (the server's own message, as the
 * kubelet shows a status's message), else an Error's message, else the value as text.
 */
export function grpcMessage(err: unknown): string {
  const details = typeof err === 'object' && err !== null ? (err as { details?: unknown }).details : undefined;
  if (typeof details === 'string' && details !== '') return details;
  return messageOf(err);
}
