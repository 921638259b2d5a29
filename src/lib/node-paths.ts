/**
 * Where corelet's daemons keep things on a node by default: the one definition of these paths in
 * TypeScript (flag defaults of runtime, agent and scheduler, the cgroupfs and CNI adapters). The
 * shell scripts read the same values from native-scripts/node/defaults.sh; a unit test
 * (test/unit/lib/node-paths.test.ts) checks that the two agree.
 */
export const NODE_PATHS = {
  /** The runtime's CRI socket: `corelet runtime --socket`, the agent's --runtime-endpoint, crictl. */
  runtimeSocket: '/run/corelet/corelet.sock',
  /** The runtime's persistent state: images, sandbox and container records, CNI cache. */
  runtimeRoot: '/var/lib/corelet',
  /** The runtime's volatile state (tmpfs): runc state, conmon sockets, exit files. */
  runtimeState: '/run/corelet',
  /** Settings: runtime.yaml, registries.yaml, the join and node env files of native-scripts/node/. */
  configDir: '/etc/corelet',
  runtimeConfig: '/etc/corelet/runtime.yaml',
  registriesConfig: '/etc/corelet/registries.yaml',
  /** Where `corelet token create --print-join-command` tells the node to put its bootstrap token. */
  bootstrapTokenFile: '/etc/corelet/bootstrap-token',
  /** The agent's state: volumes, certificates. */
  agentRoot: '/var/lib/corelet-agent',
  /** Pod logs, as the kubelet lays them out. */
  podLogDir: '/var/log/pods',
  /** The scheduler's SQLite store and PKI. */
  schedulerDir: '/var/lib/corelet-scheduler',
  cgroupRoot: '/sys/fs/cgroup',
  netnsDir: '/run/netns',
  cniConfDir: '/etc/cni/net.d',
  cniBinDirs: ['/opt/cni/bin', '/usr/lib/cni'],
} as const;

/** The gRPC endpoint of a unix socket path ("unix:///run/corelet/corelet.sock"). */
export function unixEndpoint(socket: string): string {
  return `unix://${socket}`;
}
