/**
 * Shapes shared by the pod network code: what callers pass in, what they get back, and the CNI wire
 * types (CNI spec 0.3.x, 0.4.0 and 1.0.0 results share one layout).
 */

/** IPC and UTS namespaces createNetns can make and pin beside the netns: the file to bind each on. */
export interface NamespacePinPaths {
  ipc?: string;
  uts?: string;
}

/** One port a pod asks to publish on the host (CRI PortMapping, upper-case protocol as CRI has it). */
export interface PortMapping {
  protocol: 'TCP' | 'UDP' | 'SCTP';
  containerPort: number;
  /** 0 means "not published on the host": such mappings are not given to CNI. */
  hostPort: number;
  /** Host address to bind; '' means every address. */
  hostIp: string;
}

/** Everything setUp and tearDown need to know about a pod. */
export interface PodNetworkArgs {
  sandboxId: string;
  /** The pod's network namespace (a bind-mounted nsfs file); may be gone at tearDown. */
  netnsPath: string;
  podName: string;
  podNamespace: string;
  podUid: string;
  portMappings: PortMapping[];
}

/** One interface of a CNI result. `sandbox` is set for interfaces inside the pod's netns. */
export interface CniInterface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
}

/** One address of a CNI result: `address` is in CIDR form ("10.89.0.5/16"). */
export interface CniIpConfig {
  address: string;
  gateway?: string;
  /** Index into the result's interfaces. */
  interface?: number;
}

/** A parsed CNI ADD result. The raw JSON is kept beside it to pass on as prevResult unchanged. */
export interface CniResult {
  cniVersion: string;
  interfaces: CniInterface[];
  ips: CniIpConfig[];
}

/** What setUp returns: the pod IP (IPv4 first when the pod has both families) and the others. */
export interface PodNetworkResult {
  ip: string;
  additionalIps: string[];
  interfaces: CniInterface[];
}

/** The CRI NetworkReady condition. */
export interface NetworkStatus {
  ready: boolean;
  /** '' when ready, otherwise "NetworkPluginNotReady". */
  reason: string;
  message: string;
}

/**
 * The port the sandbox lifecycle uses (NetworkManager implements it; unit tests of other components
 * pass a fake).
 */
export interface PodNetwork {
  status(): Promise<NetworkStatus>;
  /** Creates NAME under the netns dir with lo up (and, given pins, IPC/UTS namespaces bound there). */
  createNetns(name: string, pins?: NamespacePinPaths): Promise<string>;
  removeNetns(path: string): Promise<void>;
  setUp(args: PodNetworkArgs): Promise<PodNetworkResult>;
  tearDown(args: PodNetworkArgs): Promise<void>;
}
