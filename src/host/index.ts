/**
 * Host adapters shared by the runtime and the agent: cgroupfs reading and removal, mounts, and
 * process and network-namespace figures from /proc.
 * Side effects on the node live here (and in each daemon's own adapters); both sides import this
 * folder, never each other.
 */
export * from './cgroups/index.js';
export * from './mounts.js';
export * from './proc-stats.js';
