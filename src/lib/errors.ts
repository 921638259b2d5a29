/**
 * The one error module: a few kinds, each carrying a cause. Components throw these; the CRI server
 * plumbing (src/cri/server.ts) is the only place that turns them into gRPC status codes.
 */
export type ErrorKind =
  | 'NotFound'
  | 'AlreadyExists'
  | 'InvalidArgument'
  | 'FailedPrecondition'
  | 'PermissionDenied'
  | 'Unavailable'
  | 'Unimplemented'
  | 'DeadlineExceeded'
  | 'Internal';

export class CoreletError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = `${kind}Error`;
  }
}

export const notFound = (msg: string, cause?: unknown) => new CoreletError('NotFound', msg, { cause });
export const alreadyExists = (msg: string, cause?: unknown) => new CoreletError('AlreadyExists', msg, { cause });
export const invalidArgument = (msg: string, cause?: unknown) => new CoreletError('InvalidArgument', msg, { cause });
export const failedPrecondition = (msg: string, cause?: unknown) =>
  new CoreletError('FailedPrecondition', msg, { cause });
/** The caller may not do this (HTTP 403 Forbidden). */
export const permissionDenied = (msg: string, cause?: unknown) => new CoreletError('PermissionDenied', msg, { cause });
export const unavailable = (msg: string, cause?: unknown) => new CoreletError('Unavailable', msg, { cause });
export const internal = (msg: string, cause?: unknown) => new CoreletError('Internal', msg, { cause });

/** The kind of any thrown value: CoreletError keeps its own, anything else is Internal. */
export function kindOf(err: unknown): ErrorKind {
  return err instanceof CoreletError ? err.kind : 'Internal';
}

/** True when err is a CoreletError of the given kind. */
export function isKind(err: unknown, kind: ErrorKind): boolean {
  return err instanceof CoreletError && err.kind === kind;
}

/** For `.catch`: a NotFound (what was to be killed or removed is already gone) is success; anything else is rethrown. */
export function ignoreNotFound(err: unknown): void {
  if (!isKind(err, 'NotFound')) throw err;
}

/**
 * Wraps err with context ("creating container foo: <original>"), keeping its kind so the gRPC code a
 * client sees stays right across hops.
 */
export function wrap(err: unknown, context: string): CoreletError {
  const message = messageOf(err);
  return new CoreletError(kindOf(err), `${context}: ${message}`, { cause: err });
}

/** The message of anything thrown: an Error's message, anything else as a string. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Node's errno code of a failed system call (ENOENT, EEXIST, ...), if any. */
export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}
