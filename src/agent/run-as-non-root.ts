import type { Container, Pod } from '../api/index.js';

/** An image's user as the runtime's ImageStatus reports it: a uid when numeric, else a name. */
export interface ImageUser {
  uid?: number;
  username?: string;
}

/** The user of an ImageStatus image (CRI Image: uid is an Int64Value, username a string). */
export function imageUserOf(image: { uid?: { value?: unknown } | null; username?: string } | null | undefined): ImageUser {
  const raw = image?.uid?.value;
  const uid = raw === undefined || raw === null || raw === '' ? undefined : Number(raw);
  return { uid: uid !== undefined && Number.isFinite(uid) ? uid : undefined, username: image?.username || undefined };
}

/**
 * Why container `c` may not start under runAsNonRoot (container's setting, else the pod's), or
 * undefined when it may; the kubelet's verifyRunAsNonRoot rules:
 * - runAsUser set (container's, else the pod's): refused only when it is 0;
 * - else the image's user: refused when its uid is 0 or it has no user at all (root); a
 *   non-numeric user (a name, "root" included) is refused too, since the name could be uid 0 in
 *   the image's /etc/passwd (`USER toor` with `toor:x:0:0`) and nothing here can verify it.
 * Set runAsUser (or a numeric USER in the image) to run such an image under runAsNonRoot.
 */
export function runAsNonRootProblem(pod: Pod, c: Container, image: ImageUser): string | undefined {
  const runAsNonRoot = c.securityContext?.runAsNonRoot ?? pod.spec.securityContext?.runAsNonRoot;
  if (!runAsNonRoot) return undefined;
  const runAsUser = c.securityContext?.runAsUser ?? pod.spec.securityContext?.runAsUser;
  if (runAsUser !== undefined) return runAsUser === 0 ? "container's runAsUser breaks non-root policy" : undefined;
  if (image.uid === 0) return 'container has runAsNonRoot and image will run as root';
  if (image.uid === undefined && image.username) {
    return `container has runAsNonRoot and image has non-numeric user (${image.username}), cannot verify user is non-root`;
  }
  if (image.uid === undefined) return 'container has runAsNonRoot and image will run as root';
  return undefined;
}
