/**
 * Kubernetes resource quantities ("500m", "128Mi", "1.5Gi", "1e3") with the numeric semantics of
 * k8s.io/apimachinery's resource.Quantity: an exact decimal, rounded up (away from zero) to nano
 * precision, its magnitude capped at 2^63-1. Values are kept internally as BigInt nano-units so sums
 * and comparisons are exact, as they are in Kubernetes.
 */
import { invalidArgument } from '../lib/index.js';

const NANO = 1_000_000_000n;
/** resource.Quantity caps magnitudes at the largest int64. */
const MAX_NANOS = (2n ** 63n - 1n) * NANO;

const DECIMAL_SUFFIX: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIX: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

/**
 * sign, integer digits, fraction digits, then one of: a binary suffix, a decimal SI suffix, or a
 * decimal exponent. "E" alone is exa, so the suffix alternative is tried before the exponent one
 * ("1E3" falls through to the exponent form).
 */
const QUANTITY_RE = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(?:(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE]([+-]?[0-9]+))?$/;

function invalid(s: string, why?: string): Error {
  return invalidArgument(`invalid quantity ${JSON.stringify(s)}${why ? `: ${why}` : ''}`);
}

/**
 * Parses a quantity exactly, in nano-units (1 = 1e-9): "500m" → 500_000_000n, "1Ki" → 1024_000_000_000n.
 * Like Kubernetes, precision finer than a nano rounds up in magnitude ("1e-12" → 1n) and magnitudes
 * are capped at 2^63-1 units. Stricter than Kubernetes only for inputs with no digit at all ("m",
 * "-", "."), which apimachinery reads as 0 but nobody means. Throws InvalidArgument.
 */
export function parseQuantityNanos(s: string): bigint {
  const m = QUANTITY_RE.exec(s);
  const intPart = m?.[2] ?? '';
  const fracPart = m?.[3] ?? '';
  if (!m || intPart.length + fracPart.length === 0) throw invalid(s);
  const sign = m[1] === '-' ? -1n : 1n;
  const suffix = m[4] ?? '';
  let exp10 = -fracPart.length + 9; // power of ten that turns the digits into nano-units
  let exp2 = 0;
  if (m[5] !== undefined) exp10 += Number(m[5]);
  else if (suffix in BINARY_SUFFIX) exp2 = BINARY_SUFFIX[suffix];
  else exp10 += DECIMAL_SUFFIX[suffix];

  const digits = (intPart + fracPart).replace(/^0+/, '');
  if (digits === '') return 0n;
  let magnitude: bigint;
  if (exp10 >= 0) {
    // More than 60 digits of nano-units is far beyond the cap (28 digits); skip building huge BigInts.
    magnitude = exp10 + digits.length > 60 ? MAX_NANOS + 1n : (BigInt(digits) * 10n ** BigInt(exp10)) << BigInt(exp2);
  } else if (-exp10 > digits.length + 19) {
    // Non-zero yet far below one nano even with the largest binary factor (2^60 < 10^19): round up.
    magnitude = 1n;
  } else {
    magnitude = ceilDiv(BigInt(digits) << BigInt(exp2), 10n ** BigInt(-exp10));
  }
  if (magnitude > MAX_NANOS) magnitude = MAX_NANOS;
  return sign * magnitude;
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

/** Nano-units → JS number, splitting whole and fraction to avoid a second rounding. */
function nanosToNumber(n: bigint): number {
  return Number(n / NANO) + Number(n % NANO) / 1e9;
}

/**
 * The value of a quantity as a number ("1.5Gi" → 1610612736, "100m" → 0.1, "-1" → -1).
 * Exact up to 2^53; use {@link parseQuantityNanos} when exactness matters. Throws InvalidArgument.
 */
export function parseQuantity(s: string): number {
  return nanosToNumber(parseQuantityNanos(s));
}

function nonNegative(s: string): bigint {
  const n = parseQuantityNanos(s);
  if (n < 0n) throw invalid(s, 'must be greater than or equal to 0');
  return n;
}

/** CPU in millicores, rounded up as Quantity.MilliValue does: "0.5" → 500, "1" → 1000, "0.0001" → 1. Negative → InvalidArgument. */
export function cpuMillis(s: string): number {
  return Number(ceilDiv(nonNegative(s), 1_000_000n));
}

/** Memory (or any count) in whole units, rounded up as Quantity.Value does: "1.5Gi" → 1610612736, "0.5" → 1. Negative → InvalidArgument. */
export function memoryBytes(s: string): number {
  return Number(ceilDiv(nonNegative(s), NANO));
}

/** Millicores for display: 500 → "500m", 2000 → "2", 0 → "0". */
export function formatCpu(millis: number): string {
  if (millis % 1000 === 0) return String(millis / 1000);
  return `${millis}m`;
}

/**
 * Bytes for display: the largest binary suffix that divides exactly (134217728 → "128Mi"), else the
 * largest decimal one (100000000 → "100M"), else plain bytes.
 */
export function formatMemory(bytes: number): string {
  if (bytes === 0 || !Number.isSafeInteger(bytes)) return String(bytes);
  const n = BigInt(bytes);
  for (const [suffix, shift] of Object.entries(BINARY_SUFFIX).reverse()) {
    const unit = 1n << BigInt(shift);
    if (n % unit === 0n) return `${n / unit}${suffix}`;
  }
  for (const suffix of ['E', 'P', 'T', 'G', 'M', 'k']) {
    const unit = 10n ** BigInt(DECIMAL_SUFFIX[suffix]);
    if (n % unit === 0n) return `${n / unit}${suffix}`;
  }
  return String(bytes);
}
