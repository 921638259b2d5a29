import { randomBytes } from 'node:crypto';

/** A new 64-hex-digit object id, the shape crictl and the kubelet expect from containerd. */
export function newId(): string {
  return randomBytes(32).toString('hex');
}

/** Nanoseconds since the epoch as a decimal string (CRI int64 timestamps exceed 2^53). */
export function nowNanos(): string {
  return unixNanos(Date.now());
}

/** Milliseconds since the epoch to CRI nanoseconds (decimal string). */
export function unixNanos(ms: number): string {
  return (BigInt(Math.round(ms * 1000)) * 1000n).toString();
}
