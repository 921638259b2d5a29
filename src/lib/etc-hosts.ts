/**
 * The lines every pod's /etc/hosts starts with (loopback and the IPv6 multicast names), as the
 * kubelet and the CRI runtimes write them; the runtime's file and the agent's (a pod with a
 * subdomain) add the pod's own names after them.
 */
export const ETC_HOSTS_LOCAL_LINES: readonly string[] = [
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'fe00::0\tip6-mcastprefix',
  'fe00::1\tip6-allnodes',
  'fe00::2\tip6-allrouters',
];
