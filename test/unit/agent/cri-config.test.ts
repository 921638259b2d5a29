import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePods, type Pod } from '../../../src/api/index.js';
import { containerConfig, containerHash, podHostsFile, sandboxConfig, LABELS, ANNOTATIONS } from '../../../src/agent/cri-config.js';
import { podDnsConfig } from '../../../src/agent/dns/index.js';
import { loadCri } from '../../../src/cri/index.js';

/** The agent's defaults (--cluster-dns 10.96.0.10, --cluster-domain cluster.local) on a host searching corp.example. */
const DNS = { clusterDNS: ['10.96.0.10'], clusterDomain: 'cluster.local', hostResolvConf: { nameservers: ['192.0.2.53'], searches: ['corp.example'], options: [] } };

const [pod] = decodePods(
  `apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  hostname: front
  dnsConfig: {nameservers: [10.96.0.10], searches: [shop.svc], options: [{name: ndots, value: "2"}]}
  shareProcessNamespace: true
  containers:
  - name: app
    image: nginx:1.25
    command: [nginx]
    args: ["-g", "daemon off;"]
    env:
    - {name: MODE, value: prod}
    - name: POD_IP
      valueFrom: {fieldRef: {fieldPath: status.podIP}}
    - name: NODE
      valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
    ports: [{containerPort: 80, hostPort: 8080}]
    volumeMounts: [{name: cache, mountPath: /cache, readOnly: true}]
    securityContext: {runAsUser: 1000, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
  volumes: [{name: cache, emptyDir: {}}]
`,
  '/etc/corelet/manifests/web.yaml',
).pods;

test('the sandbox config carries identity, DNS, ports, namespaces and the cgroup parent', () => {
  const sb = sandboxConfig(pod!, { attempt: 2, logRoot: '/var/log/pods', cgroupParent: '/kubepods/besteffort/podX', dns: podDnsConfig(pod!, DNS).dnsConfig });
  assert.deepEqual(sb.metadata, { name: 'web', namespace: 'shop', uid: pod!.metadata.uid, attempt: 2 });
  assert.equal(sb.hostname, 'front');
  assert.equal(sb.log_directory, `/var/log/pods/shop_web_${pod!.metadata.uid}`);
  // ClusterFirst (the default): the cluster DNS, the cluster's searches then the host's, the pod's dnsConfig appended (its ndots wins)
  assert.deepEqual(sb.dns_config, { servers: ['10.96.0.10'], searches: ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'corp.example', 'shop.svc'], options: ['ndots:2'] });
  assert.deepEqual(sb.port_mappings, [{ protocol: 'TCP', container_port: 80, host_port: 8080, host_ip: '' }]);
  assert.equal(sb.labels![LABELS.podUid], pod!.metadata.uid);
  assert.equal(sb.labels!.app, 'web');
  assert.equal(sb.linux!.cgroup_parent, '/kubepods/besteffort/podX');
  assert.deepEqual(sb.linux!.security_context!.namespace_options, { network: 'POD', pid: 'POD', ipc: 'POD' });
});

test('the container config resolves env, mounts, security and records the restart count', () => {
  const cfg = containerConfig({
    pod: pod!,
    container: pod!.spec.containers[0]!,
    kind: 'app',
    restartCount: 3,
    fields: { podIP: '10.0.0.9', hostIP: '192.0.2.1', nodeName: 'node-1' },
    volumePaths: { cache: '/var/lib/corelet-agent/pods/u/volumes/cache' },
    resources: null,
  });
  assert.deepEqual(cfg.metadata, { name: 'app', attempt: 3 });
  assert.deepEqual(cfg.command, ['nginx']);
  assert.deepEqual(cfg.envs, [
    { key: 'MODE', value: Buffer.from('prod') },
    { key: 'POD_IP', value: Buffer.from('10.0.0.9') },
    { key: 'NODE', value: Buffer.from('node-1') },
  ]);
  assert.deepEqual(cfg.mounts, [{ container_path: '/cache', host_path: '/var/lib/corelet-agent/pods/u/volumes/cache', readonly: true }]);
  assert.equal(cfg.log_path, 'app/3.log');
  assert.equal(cfg.annotations![ANNOTATIONS.restartCount], '3');
  const sc = cfg.linux!.security_context!;
  assert.deepEqual(sc.run_as_user, { value: 1000 });
  assert.equal(sc.readonly_rootfs, true);
  assert.equal(sc.no_new_privs, true);
  assert.deepEqual(sc.capabilities, { add_capabilities: [], drop_capabilities: ['ALL'] });
  // probes do not change the hash (changing them must not restart the container); the image does
  const c = pod!.spec.containers[0]!;
  assert.equal(containerHash({ ...c, livenessProbe: { exec: { command: ['x'] }, initialDelaySeconds: 0, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 } }), containerHash(c));
  assert.notEqual(containerHash({ ...c, image: 'nginx:1.26' }), containerHash(c));
});

/** containerConfig's input for a pod's container c as a first-run app container, with no IPs yet. */
const appInput = (p: Pod, c = 0) => ({ pod: p, container: p.spec.containers[c]!, kind: 'app' as const, restartCount: 0, fields: { podIP: '', hostIP: '', nodeName: 'n' }, volumePaths: {}, resources: null });

test('securityContext.seccompProfile reaches CRI: the container’s own, else the pod’s; none when unset', () => {
  const [p] = decodePods(
    `apiVersion: v1
kind: Pod
metadata: {name: sec}
spec:
  securityContext: {seccompProfile: {type: RuntimeDefault}}
  containers:
  - {name: a, image: busybox}
  - {name: b, image: busybox, securityContext: {seccompProfile: {type: Unconfined}}}
`,
    'sec.yaml',
  ).pods;
  const input = (c: number) => appInput(p!, c);
  assert.deepEqual(containerConfig(input(0)).linux!.security_context!.seccomp, { profile_type: 'RuntimeDefault' });
  assert.deepEqual(containerConfig(input(1)).linux!.security_context!.seccomp, { profile_type: 'Unconfined' });
  assert.deepEqual(sandboxConfig(p!, { attempt: 0, logRoot: '/l', cgroupParent: '/c', dns: podDnsConfig(p!, DNS).dnsConfig }).linux!.security_context!.seccomp, { profile_type: 'RuntimeDefault' });
  assert.equal(containerConfig({ ...input(0), pod: pod!, container: pod!.spec.containers[0]!, volumePaths: { cache: '/v' } }).linux!.security_context!.seccomp, undefined);
  assert.throws(
    () => decodePods('apiVersion: v1\nkind: Pod\nmetadata: {name: l}\nspec: {containers: [{name: a, image: b, securityContext: {seccompProfile: {type: Localhost, localhostProfile: p.json}}}]}\n', 'l.yaml'),
    /spec\.containers\[0\]\.securityContext\.seccompProfile\.type: Localhost seccomp profiles are not supported by corelet yet: use RuntimeDefault/,
  );
});

test("a pod with a subdomain gets the kubelet's managed /etc/hosts: its FQDN, mounted unless the container mounts its own", () => {
  const [kv] = decodePods(
    `apiVersion: v1
kind: Pod
metadata: {name: kv-0, namespace: shop}
spec:
  hostname: kv-0
  subdomain: kv
  containers: [{name: db, image: db:1}]
`,
    'kv.yaml',
  ).pods;
  const text = podHostsFile(kv!, '10.244.1.7', 'cluster.local');
  assert.equal(text?.split('\n').at(-2), '10.244.1.7\tkv-0.kv.shop.svc.cluster.local\tkv-0');
  assert.match(text ?? '', /^# Kubernetes-managed hosts file\.\n127\.0\.0\.1\tlocalhost\n/);
  const config = containerConfig({ pod: kv!, container: kv!.spec.containers[0]!, kind: 'app', restartCount: 0, fields: { podIP: '10.244.1.7', hostIP: '10.0.0.1', nodeName: 'n1' }, volumePaths: {}, hostsFile: '/var/lib/corelet-agent/pods/u/etc-hosts', resources: null });
  assert.deepEqual(config.mounts, [{ container_path: '/etc/hosts', host_path: '/var/lib/corelet-agent/pods/u/etc-hosts', readonly: false }]);
  // no subdomain (the runtime's file already has IP and hostname), no IP yet, or no cluster domain: none
  assert.equal(podHostsFile(pod!, '10.244.1.8', 'cluster.local'), undefined);
  assert.equal(podHostsFile(kv!, '', 'cluster.local'), undefined);
  assert.equal(podHostsFile(kv!, '10.244.1.7', ''), undefined);
});

test('env values reach the runtime as they are written, through the real CRI encoding (v1.37: bytes)', () => {
  const [pod] = decodePods(
    `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: c
    image: busybox
    env: [{name: DB, value: zeus-db}, {name: PW, value: hunter2}, {name: GREETING, value: grüße}, {name: EMPTY, value: ''}]
`,
    'env.yaml',
  ).pods;
  const cfg = containerConfig(appInput(pod!));
  const call = loadCri().runtime.v1.RuntimeService.service.CreateContainer;
  const sent = call.requestDeserialize(call.requestSerialize({ pod_sandbox_id: 's', config: cfg }));
  assert.deepEqual(
    sent.config!.envs.map((e) => [e.key, Buffer.from(e.value).toString('utf8')]),
    [['DB', 'zeus-db'], ['PW', 'hunter2'], ['GREETING', 'grüße'], ['EMPTY', '']],
  );
});
