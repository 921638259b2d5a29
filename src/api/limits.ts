/**
 * Request size limits shared by the scheduler's REST API and the CLI (which checks a manifest before
 * sending it): kube-apiserver's 3 MiB per request body; each object at most 1.5 MiB (etcd's limit,
 * MAX_OBJECT_BYTES of the store).
 */

/** The largest request body the scheduler reads (kube-apiserver's limit). */
export const MAX_REQUEST_BODY_BYTES = 3 * 1024 * 1024;

/** "3 MiB", "1.5 MiB", "512 KiB": a size for messages. */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${Number((n / (1024 * 1024)).toFixed(1))} MiB`;
  if (n >= 1024) return `${Number((n / 1024).toFixed(1))} KiB`;
  return `${n} bytes`;
}

/**
 * How deep a request body's JSON may nest. kube-apiserver's decoder stops at 10 000 levels; corelet's
 * patchers and decoders recurse per level, so it stops at 1 000 (no Kubernetes object nests deeper
 * than a few dozen levels).
 */
export const MAX_JSON_DEPTH = 1000;

/**
 * The problem of a JSON text nested deeper than max levels ("nested deeper than 1000 levels at
 * character 1234"), found by one pass over the text (no parsing, no recursion); undefined when it is not.
 */
export function jsonDepthProblem(text: string, max = MAX_JSON_DEPTH): string | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return `nested deeper than ${max} levels (at character ${i}); no object is that deep`;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return undefined;
}
