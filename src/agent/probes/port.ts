import type { ContainerPort } from '../../api/index.js';

/**
 * Resolves a probe's port: a number as is, a string by the container's port names, falling back to a
 * number written as a string (as the kubelet does). Throws with a user-facing message when invalid.
 */
export function resolveProbePort(port: number | string, ports: ContainerPort[]): number {
  let n: number;
  if (typeof port === 'number') {
    n = port;
  } else {
    const named = ports.find((p) => p.name === port);
    if (named) n = named.containerPort;
    else if (/^[0-9]+$/.test(port)) n = Number(port);
    else throw new Error(`couldn't find port named "${port}" in the container's ports`);
  }
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`invalid port number: ${n}`);
  return n;
}

/** "host:port", bracketing IPv6 literals. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
