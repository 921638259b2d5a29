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
