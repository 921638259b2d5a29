/** The scheduler's address as given to the agent (--server). */
import { invalidArgument } from '../lib/index.js';

/** Host and port of a scheduler address. */
export interface SchedulerAddress {
  host: string;
  port: number;
}

/**
 * Parses --server: "wss://HOST:PORT" or "https://HOST:PORT" (IPv6 in brackets). Throws InvalidArgument
 * for other schemes (the scheduler speaks only TLS) or a missing port.
 */
export function parseServerUrl(server: string): SchedulerAddress {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw invalidArgument(`invalid --server ${JSON.stringify(server)}: expected wss://HOST:PORT`);
  }
  if (url.protocol !== 'wss:' && url.protocol !== 'https:') {
    throw invalidArgument(`invalid --server ${JSON.stringify(server)}: the scheduler only speaks TLS, use wss://HOST:PORT`);
  }
  if (url.port === '') throw invalidArgument(`invalid --server ${JSON.stringify(server)}: give the port, wss://HOST:PORT`);
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) };
}
