/**
 * The fieldValidation query parameter of create, update and patch, as kube-apiserver reads it:
 * what to do with fields of the body the schema (src/api/schema/, the decoders) lacks.
 * - Ignore: drop them silently;
 * - Warn (the default): drop them, with a Warning header each (`unknown field "spec.foo"`);
 * - Strict: refuse the request, 400 BadRequest naming every such field.
 * kubectl apply/create/replace send Strict by default (--validate=strict) once /openapi/v3 says the
 * kind's PATCH takes the parameter, and Warn for --validate=warn.
 */
import { invalidArgument } from '../../lib/index.js';

export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

const MODES: readonly FieldValidation[] = ['Ignore', 'Warn', 'Strict'];

/** The request's mode: Warn when absent; InvalidArgument (400 BadRequest) for a value that is none of the three. */
export function fieldValidationOf(search: URLSearchParams): FieldValidation {
  const given = search.get('fieldValidation');
  if (given === null || given === '') return 'Warn';
  const mode = MODES.find((m) => m === given);
  if (!mode) throw invalidArgument(`fieldValidation: unsupported value ${JSON.stringify(given)} (supported: ${MODES.join(', ')})`);
  return mode;
}

const UNKNOWN_SUFFIX = ': unknown field';

/**
 * The field path of a decoder warning about an unknown field ("request body: spec.foo: unknown
 * field" → "spec.foo"), undefined for any other warning.
 */
export function unknownFieldPath(warning: string): string | undefined {
  if (!warning.endsWith(UNKNOWN_SUFFIX)) return undefined;
  const head = warning.slice(0, -UNKNOWN_SUFFIX.length);
  const sep = head.lastIndexOf(': ');
  return sep < 0 ? head : head.slice(sep + 2);
}

/**
 * The decoder's warnings as the request's mode wants them: unknown fields dropped (Ignore),
 * reworded as kube-apiserver's (Warn), or the request refused (Strict: InvalidArgument, 400 BadRequest);
 * other warnings are kept as they are. `kind` names the object in the refusal.
 */
export function checkFields(mode: FieldValidation | undefined, kind: string, warnings: readonly string[]): string[] {
  const unknown: string[] = [];
  const others: string[] = [];
  for (const w of warnings) {
    const path = unknownFieldPath(w);
    if (path === undefined) others.push(w);
    else if (!unknown.includes(path)) unknown.push(path);
  }
  if (unknown.length === 0 || mode === 'Ignore') return others;
  const worded = unknown.map((p) => `unknown field ${JSON.stringify(p)}`);
  if (mode === 'Strict') {
    throw invalidArgument(`${kind} in version "v1" cannot be handled as a ${kind}: strict decoding error: ${worded.join(', ')}`);
  }
  return [...worded, ...others];
}
