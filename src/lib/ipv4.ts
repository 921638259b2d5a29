/**
 * IPv4 addresses and CIDRs as numbers: the one parser the scheduler's allocators (pod CIDRs, service
 * IPs), the node's pod-IP check, the service proxy and the node DNS's source list share. Each caller
 * keeps its own error message and its own range rules.
 */
import { isIPv4 } from 'node:net';

/** Ranges that mean something else than a host: "this network", loopback, link-local, multicast, reserved. */
export const SPECIAL_IPV4_RANGES: readonly string[] = ['0.0.0.0/8', '127.0.0.0/8', '169.254.0.0/16', '224.0.0.0/4', '240.0.0.0/4'];

/** A dotted IPv4 address (checked by the caller) as a number (one pass, no split: it sorts endpoints). */
export function ipv4ToNumber(ip: string): number {
  let n = 0;
  let octet = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) {
      n = n * 256 + octet;
      octet = 0;
    } else octet = octet * 10 + (c - 48);
  }
  return n * 256 + octet;
}

export function numberToIPv4(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

/** The netmask of a prefix length as a number. */
export function ipv4Mask(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

export interface IPv4Cidr {
  /** The network address (host bits cleared) as a number. */
  network: number;
  bits: number;
  /** Normalized: "10.244.0.0/16". */
  text: string;
  /** The address given had host bits set ("10.244.3.7/16"). */
  hostBitsSet: boolean;
}

/** Parses "a.b.c.d/n" (n 0–32); undefined when it is anything else. */
export function parseIPv4Cidr(s: string): IPv4Cidr | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const ip = s.slice(0, slash);
  const bitsText = s.slice(slash + 1);
  if (!isIPv4(ip) || !/^\d{1,2}$/.test(bitsText)) return undefined;
  const bits = Number(bitsText);
  if (bits > 32) return undefined;
  const addr = ipv4ToNumber(ip);
  const network = (addr & ipv4Mask(bits)) >>> 0;
  return { network, bits, text: `${numberToIPv4(network)}/${bits}`, hostBitsSet: network !== addr };
}

/** Whether ip is an IPv4 address inside cidr ("a.b.c.d/n"). */
export function ipInCidr(ip: string, cidr: string): boolean {
  const block = parseIPv4Cidr(cidr);
  if (!block || !isIPv4(ip)) return false;
  return ((ipv4ToNumber(ip) & ipv4Mask(block.bits)) >>> 0) === block.network;
}
