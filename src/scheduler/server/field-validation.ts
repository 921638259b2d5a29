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

/** The decoders' wording of the two problems ?fieldValidation= is about, and Kubernetes'. */
const PROBLEMS = ['unknown field', 'duplicate field'] as const;

/**
 * What a decoder warning says about a field ("request body: spec.foo: unknown field" → unknown field
 * spec.foo), undefined for any other warning.
 */
export function fieldProblem(warning: string): { problem: (typeof PROBLEMS)[number]; path: string } | undefined {
  const problem = PROBLEMS.find((p) => warning.endsWith(`: ${p}`));
  if (!problem) return undefined;
  const head = warning.slice(0, -(problem.length + 2));
  const sep = head.lastIndexOf(': ');
  return { problem, path: sep < 0 ? head : head.slice(sep + 2) };
}

/**
 * The decoder's warnings as the request's mode wants them: unknown and duplicate fields dropped (Ignore),
 * reworded as kube-apiserver's (Warn), or the request refused (Strict: InvalidArgument, 400 BadRequest);
 * other warnings are kept as they are. `kind` names the object in the refusal.
 */
export function checkFields(mode: FieldValidation | undefined, kind: string, warnings: readonly string[]): string[] {
  const worded: string[] = [];
  const others: string[] = [];
  for (const w of warnings) {
    const found = fieldProblem(w);
    if (!found) {
      others.push(w);
      continue;
    }
    const line = `${found.problem} ${JSON.stringify(found.path)}`;
    if (!worded.includes(line)) worded.push(line);
  }
  if (worded.length === 0 || mode === 'Ignore') return others;
  if (mode === 'Strict') {
    throw invalidArgument(`${kind} in version "v1" cannot be handled as a ${kind}: strict decoding error: ${worded.join(', ')}`);
  }
  return [...worded, ...others];
}
