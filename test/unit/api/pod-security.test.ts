/**
 * The Pod Security Standards checks (api/pod-security.ts): every check at every level, with the
 * message Kubernetes' Pod Security admission gives.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkPodSecurity,
  formatViolations,
  namespacePodSecurity,
  podSecurityLabelProblems,
  violationMessage,
  warningMessage,
  type PodSecurityLevel,
} from '../../../src/api/index.js';

/** A pod that passes restricted; `change` makes it violate something. */
function restrictedPod(change: (spec: any, meta: any) => void = () => undefined): { metadata: any; spec: any } {
  const container = (name: string) => ({
    name,
    image: 'busybox',
    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
  });
  const spec: any = {
    securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
    initContainers: [container('init')],
    containers: [container('app')],
    volumes: [{ name: 'scratch', emptyDir: {} }],
  };
  const metadata: any = { name: 'x', annotations: {} };
  change(spec, metadata);
  return { metadata, spec };
}

/** "reason (detail), ..." of the pod at a level. */
const verdict = (level: PodSecurityLevel, pod: { metadata: any; spec: any }) => formatViolations(checkPodSecurity(level, pod));

/** The pod's message at baseline and at restricted. */
function both(change: (spec: any, meta: any) => void): [string, string] {
  const pod = restrictedPod(change);
  return [verdict('baseline', pod), verdict('restricted', pod)];
}

describe('Pod Security Standards', () => {
  it('passes a plain pod at privileged and baseline, and a hardened one at every level', () => {
    const plain = { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };
    assert.deepEqual(checkPodSecurity('privileged', plain), []);
    assert.deepEqual(checkPodSecurity('baseline', plain), []);
    for (const level of ['privileged', 'baseline', 'restricted'] as const) assert.deepEqual(checkPodSecurity(level, restrictedPod()), [], level);
  });

  it('lets privileged through with anything', () => {
    const pod = restrictedPod((s) => {
      s.hostNetwork = true;
      s.containers[0].securityContext.privileged = true;
      s.volumes.push({ name: 'h', hostPath: { path: '/' } });
    });
    assert.deepEqual(checkPodSecurity('privileged', pod), []);
  });

  it('baseline: host namespaces', () => {
    const [b, r] = both((s) => {
      s.hostNetwork = true;
      s.hostPID = true;
      s.hostIPC = true;
    });
    assert.equal(b, 'host namespaces (hostNetwork=true, hostPID=true, hostIPC=true)');
    assert.equal(r, b);
    assert.equal(both((s) => (s.hostNetwork = false))[0], '');
  });

  it('baseline: privileged containers, init containers and ephemeral containers included', () => {
    assert.equal(both((s) => (s.containers[0].securityContext.privileged = true))[0], 'privileged (container "app" must not set securityContext.privileged=true)');
    const [b] = both((s) => {
      s.initContainers[0].securityContext.privileged = true;
      s.containers[0].securityContext.privileged = true;
    });
    assert.equal(b, 'privileged (containers "init", "app" must not set securityContext.privileged=true)');
    const [e] = both((s) => (s.ephemeralContainers = [{ name: 'debug', securityContext: { privileged: true } }]));
    assert.equal(e, 'privileged (container "debug" must not set securityContext.privileged=true)');
    assert.equal(both((s) => (s.containers[0].securityContext.privileged = false))[0], '');
  });

  it('baseline: capabilities beyond the allowlist; restricted: drop ALL and add only NET_BIND_SERVICE', () => {
    const [b, r] = both((s) => (s.containers[0].securityContext.capabilities.add = ['NET_ADMIN', 'CHOWN', 'SYS_ADMIN']));
    assert.equal(b, 'non-default capabilities (container "app" must not include "NET_ADMIN", "SYS_ADMIN" in securityContext.capabilities.add)');
    assert.equal(r, 'unrestricted capabilities (container "app" must not include "CHOWN", "NET_ADMIN", "SYS_ADMIN" in securityContext.capabilities.add)');
    // The baseline allowlist passes baseline; restricted allows only NET_BIND_SERVICE.
    const allow = both((s) => (s.containers[0].securityContext.capabilities.add = ['AUDIT_WRITE', 'KILL', 'NET_BIND_SERVICE', 'SYS_CHROOT']));
    assert.deepEqual(allow, ['', 'unrestricted capabilities (container "app" must not include "AUDIT_WRITE", "KILL", "SYS_CHROOT" in securityContext.capabilities.add)']);
    assert.deepEqual(both((s) => (s.containers[0].securityContext.capabilities.add = ['NET_BIND_SERVICE'])), ['', '']);
    const noDrop = both((s) => {
      delete s.containers[0].securityContext.capabilities;
      s.initContainers[0].securityContext.capabilities.drop = ['NET_RAW'];
    });
    assert.deepEqual(noDrop, ['', 'unrestricted capabilities (containers "init", "app" must set securityContext.capabilities.drop=["ALL"])']);
  });

  it('baseline: hostPath volumes; restricted: only the allowed volume types', () => {
    const [b, r] = both((s) => s.volumes.push({ name: 'host', hostPath: { path: '/etc' } }));
    assert.equal(b, 'hostPath volumes (volume "host")');
    // restricted's volume check replaces baseline's hostPath check, as in Kubernetes.
    assert.equal(r, 'restricted volume types (volume "host" uses restricted volume type "hostPath")');
    const two = both((s) => s.volumes.push({ name: 'a', hostPath: { path: '/a' } }, { name: 'n', nfs: { server: 'x', path: '/' } }));
    assert.equal(two[0], 'hostPath volumes (volume "a")');
    assert.equal(two[1], 'restricted volume types (volumes "a", "n" use restricted volume types "hostPath", "nfs")');
    const allowed = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret', 'persistentLocal'];
    assert.deepEqual(both((s) => (s.volumes = allowed.map((type, i) => ({ name: `v${i}`, [type]: {} })))), ['', '']);
  });

  it('baseline: host ports', () => {
    const [b, r] = both((s) => (s.containers[0].ports = [{ containerPort: 80, hostPort: 8080 }, { containerPort: 81 }]));
    assert.equal(b, 'hostPort (container "app" uses hostPort 8080)');
    assert.equal(r, b);
    const two = both((s) => {
      s.containers[0].ports = [{ containerPort: 80, hostPort: 80 }];
      s.initContainers[0].ports = [{ containerPort: 443, hostPort: 443 }];
    })[0];
    assert.equal(two, 'hostPort (containers "init", "app" use hostPorts 80, 443)');
    assert.equal(both((s) => (s.containers[0].ports = [{ containerPort: 80, hostPort: 0 }]))[0], '');
  });

  it('baseline: AppArmor profiles other than runtime/default and localhost/*', () => {
    const [b] = both((_s, m) => (m.annotations['container.apparmor.security.beta.kubernetes.io/app'] = 'unconfined'));
    assert.equal(b, 'forbidden AppArmor profile (container.apparmor.security.beta.kubernetes.io/app="unconfined")');
    assert.equal(both((_s, m) => (m.annotations['container.apparmor.security.beta.kubernetes.io/app'] = 'runtime/default'))[0], '');
    assert.equal(both((_s, m) => (m.annotations['container.apparmor.security.beta.kubernetes.io/app'] = 'localhost/mine'))[0], '');
    const field = both((s) => (s.securityContext.appArmorProfile = { type: 'Unconfined' }))[0];
    assert.equal(field, 'forbidden AppArmor profile (pod must not set securityContext.appArmorProfile.type to "Unconfined")');
  });

  it('baseline: SELinux options', () => {
    const [b] = both((s) => (s.containers[0].securityContext.seLinuxOptions = { type: 'spc_t', user: 'system_u', role: 'r' }));
    assert.equal(b, 'seLinuxOptions (container "app" sets forbidden securityContext.seLinuxOptions: type "spc_t"; user "system_u"; role "r")');
    assert.equal(both((s) => (s.securityContext.seLinuxOptions = { type: 'container_t', level: 's0:c1,c2' }))[0], '');
    const pod = both((s) => (s.securityContext.seLinuxOptions = { type: 'unconfined_t' }))[0];
    assert.equal(pod, 'seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: type "unconfined_t")');
  });

  it('baseline: /proc mount type', () => {
    assert.equal(both((s) => (s.containers[0].securityContext.procMount = 'Unmasked'))[0], 'procMount (container "app" must not set securityContext.procMount to "Unmasked")');
    assert.equal(both((s) => (s.containers[0].securityContext.procMount = 'Default'))[0], '');
  });

  it('baseline: seccomp Unconfined; restricted: RuntimeDefault or Localhost on the pod or every container', () => {
    const [b, r] = both((s) => (s.securityContext.seccompProfile = { type: 'Unconfined' }));
    assert.equal(b, 'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")');
    assert.equal(
      r,
      'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined"; pod or containers "init", "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
    );
    const container = both((s) => (s.containers[0].securityContext.seccompProfile = { type: 'Unconfined' }));
    assert.deepEqual(container, [
      'seccompProfile (container "app" must not set securityContext.seccompProfile.type to "Unconfined")',
      'seccompProfile (container "app" must not set securityContext.seccompProfile.type to "Unconfined")',
    ]);
    const unset = both((s) => delete s.securityContext.seccompProfile);
    assert.deepEqual(unset, ['', 'seccompProfile (pod or containers "init", "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")']);
    const perContainer = both((s) => {
      delete s.securityContext.seccompProfile;
      s.initContainers[0].securityContext.seccompProfile = { type: 'Localhost', localhostProfile: 'p.json' };
      s.containers[0].securityContext.seccompProfile = { type: 'RuntimeDefault' };
    });
    assert.deepEqual(perContainer, ['', '']);
  });

  it('baseline: only the safe sysctls', () => {
    const [b] = both((s) => (s.securityContext.sysctls = [{ name: 'net.ipv4.tcp_syncookies', value: '1' }, { name: 'kernel.msgmax', value: '1' }, { name: 'net.core.somaxconn', value: '1' }]));
    assert.equal(b, 'forbidden sysctls (kernel.msgmax, net.core.somaxconn)');
    assert.equal(both((s) => (s.securityContext.sysctls = [{ name: 'net.ipv4.ip_local_port_range', value: '1024 65535' }]))[0], '');
  });

  it('restricted: allowPrivilegeEscalation must be false', () => {
    const [b, r] = both((s) => {
      delete s.containers[0].securityContext.allowPrivilegeEscalation;
      s.initContainers[0].securityContext.allowPrivilegeEscalation = true;
    });
    assert.equal(b, '');
    assert.equal(r, 'allowPrivilegeEscalation != false (containers "init", "app" must set securityContext.allowPrivilegeEscalation=false)');
  });

  it('restricted: runAsNonRoot true on the pod or every container, never false', () => {
    const unset = both((s) => delete s.securityContext.runAsNonRoot);
    assert.deepEqual(unset, ['', 'runAsNonRoot != true (pod or containers "init", "app" must set securityContext.runAsNonRoot=true)']);
    const perContainer = both((s) => {
      delete s.securityContext.runAsNonRoot;
      s.initContainers[0].securityContext.runAsNonRoot = true;
      s.containers[0].securityContext.runAsNonRoot = true;
    });
    assert.deepEqual(perContainer, ['', '']);
    const explicitFalse = both((s) => (s.containers[0].securityContext.runAsNonRoot = false))[1];
    assert.equal(explicitFalse, 'runAsNonRoot != true (container "app" must not set securityContext.runAsNonRoot=false)');
    const podFalse = both((s) => (s.securityContext.runAsNonRoot = false))[1];
    assert.equal(podFalse, 'runAsNonRoot != true (pod must not set securityContext.runAsNonRoot=false; pod or containers "init", "app" must set securityContext.runAsNonRoot=true)');
  });

  it('restricted: runAsUser must not be 0', () => {
    const [b, r] = both((s) => {
      s.securityContext.runAsUser = 0;
      s.containers[0].securityContext.runAsUser = 0;
    });
    assert.equal(b, '');
    assert.equal(r, 'runAsUser=0 (pod and container "app" must not set runAsUser=0)');
    assert.equal(both((s) => (s.securityContext.runAsUser = 1000))[1], '');
  });

  it('reports several violations in check order, as the API server joins them', () => {
    const pod = {
      metadata: { name: 'x' },
      spec: {
        containers: [{ name: 'app', image: 'nginx', securityContext: { privileged: true } }],
        volumes: [{ name: 'host', hostPath: { path: '/' } }],
      },
    };
    assert.equal(
      violationMessage('baseline', checkPodSecurity('baseline', pod)),
      'violates PodSecurity "baseline:latest": hostPath volumes (volume "host"), privileged (container "app" must not set securityContext.privileged=true)',
    );
    assert.equal(
      violationMessage('restricted', checkPodSecurity('restricted', pod)),
      'violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false), ' +
        'unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"]), ' +
        'privileged (container "app" must not set securityContext.privileged=true), ' +
        'restricted volume types (volume "host" uses restricted volume type "hostPath"), ' +
        'runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true), ' +
        'seccompProfile (pod or container "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
    );
    assert.match(warningMessage('baseline', checkPodSecurity('baseline', pod)), /^would violate PodSecurity "baseline:latest": hostPath volumes/);
  });

  it('reads namespace labels: baseline without a label, invalid values named', () => {
    assert.deepEqual(namespacePodSecurity({}), { enforce: 'baseline', enforceVersion: 'latest', warnVersion: 'latest' });
    assert.equal(namespacePodSecurity({ 'pod-security.kubernetes.io/enforce': 'restricted' }).enforce, 'restricted');
    assert.equal(namespacePodSecurity({ 'pod-security.kubernetes.io/warn': 'restricted' }).warn, 'restricted');
    assert.deepEqual(podSecurityLabelProblems({ 'pod-security.kubernetes.io/enforce': 'privileged', 'pod-security.kubernetes.io/enforce-version': 'v1.30' }), []);
    assert.deepEqual(podSecurityLabelProblems({ 'pod-security.kubernetes.io/enforce': 'strict', 'pod-security.kubernetes.io/warn-version': '1.30' }), [
      'metadata.labels["pod-security.kubernetes.io/enforce"]: invalid value "strict": must be one of privileged, baseline, restricted',
      'metadata.labels["pod-security.kubernetes.io/warn-version"]: invalid value "1.30": must be "latest" or "v1.<minor>"',
    ]);
  });
});
