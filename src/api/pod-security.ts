/**
 * The Pod Security Standards (https://kubernetes.io/docs/concepts/security/pod-security-standards/),
 * as pure checks: a pod (metadata and spec) against one of the three levels, privileged, baseline
 * and restricted. The checks and their wording follow Kubernetes' Pod Security admission, so a
 * refusal reads as the API server's does:
 *
 *   violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "app" must
 *   set securityContext.allowPrivilegeEscalation=false), hostPath volumes ...
 *
 * The input is read loosely (any JSON-shaped pod): fields corelet's pod model does not hold
 * (hostPID, seLinuxOptions, procMount, ...) are still checked when present, so the same function
 * judges a decoded Pod, a raw manifest and a workload's pod template.
 */

/** The three Pod Security Standards levels, least to most restrictive. */
export const POD_SECURITY_LEVELS = ['privileged', 'baseline', 'restricted'] as const;
/** One of {@link POD_SECURITY_LEVELS}. */
export type PodSecurityLevel = (typeof POD_SECURITY_LEVELS)[number];

/** Namespace labels of Pod Security admission. */
export const POD_SECURITY_LABELS = {
  enforce: 'pod-security.kubernetes.io/enforce',
  enforceVersion: 'pod-security.kubernetes.io/enforce-version',
  warn: 'pod-security.kubernetes.io/warn',
  warnVersion: 'pod-security.kubernetes.io/warn-version',
  audit: 'pod-security.kubernetes.io/audit',
  auditVersion: 'pod-security.kubernetes.io/audit-version',
} as const;

/** The level of a namespace without an enforce label (corelet's default, as the issue asks). */
export const DEFAULT_POD_SECURITY_LEVEL: PodSecurityLevel = 'baseline';

/** Capabilities a baseline container may add (the Pod Security Standards' allowlist). */
export const BASELINE_CAPABILITIES: readonly string[] = [
  'AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE',
  'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT',
];

/** Sysctls the baseline level allows (namespaced, known safe). */
export const SAFE_SYSCTLS: readonly string[] = [
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
];

/**
 * Volume types the restricted level allows. corelet's persistentLocal stands for a
 * persistentVolumeClaim (which restricted allows): only the StatefulSet controller sets it (the API
 * refuses it from users, see scheduler/admission/internal-volumes.ts), and its pods must pass the
 * namespace's level, so it stays allowed here.
 */
export const RESTRICTED_VOLUME_TYPES: readonly string[] = [
  'configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret', 'persistentLocal',
];

const SELINUX_TYPES = ['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t'];
const APPARMOR_ANNOTATION_PREFIX = 'container.apparmor.security.beta.kubernetes.io/';

/** One violated check: its reason ("hostPath volumes") and what in the pod violates it. */
export interface PodSecurityViolation {
  /** The check's id, as Kubernetes names it (hostPathVolumes, privileged, ...). */
  check: string;
  reason: string;
  detail: string;
}

/** The part of a pod the checks read: metadata annotations and the spec. */
export interface PodSecurityInput {
  metadata?: { name?: string; annotations?: Readonly<Record<string, string>> } | undefined;
  spec?: unknown;
}

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const rec = (v: unknown): Rec => (isRec(v) ? v : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

interface ContainerView {
  name: string;
  sc: Rec;
  raw: Rec;
}

interface PodView {
  annotations: Readonly<Record<string, string>>;
  spec: Rec;
  podSc: Rec;
  containers: ContainerView[];
}

function viewOf(pod: PodSecurityInput): PodView {
  const spec = rec(pod.spec);
  const containers: ContainerView[] = [];
  for (const field of ['initContainers', 'containers', 'ephemeralContainers']) {
    for (const c of arr(spec[field])) {
      const raw = rec(c);
      containers.push({ name: str(raw.name), sc: rec(raw.securityContext), raw });
    }
  }
  return { annotations: pod.metadata?.annotations ?? {}, spec, podSc: rec(spec.securityContext), containers };
}

const quoted = (names: readonly string[]) => names.map((n) => JSON.stringify(n)).join(', ');

/** `container "a"` or `containers "a", "b"`. */
function containersNamed(names: readonly string[]): string {
  return `${names.length === 1 ? 'container' : 'containers'} ${quoted(names)}`;
}

/** `pod`, `container "a"`, `pod and containers "a", "b"` for the places setting a field. */
function podAndContainers(pod: boolean, names: readonly string[]): string {
  if (names.length === 0) return 'pod';
  return pod ? `pod and ${containersNamed(names)}` : containersNamed(names);
}

/** The containers in which `find` finds something (in order), and all it found. */
function offenders<T>(containers: readonly ContainerView[], find: (c: ContainerView) => T[]): { names: string[]; found: Set<T> } {
  const names: string[] = [];
  const found = new Set<T>();
  for (const c of containers) {
    const values = find(c);
    if (values.length === 0) continue;
    names.push(c.name);
    values.forEach((v) => found.add(v));
  }
  return { names, found };
}

type Check = (pod: PodView) => string | undefined;

interface CheckDef {
  id: string;
  level: Exclude<PodSecurityLevel, 'privileged'>;
  reason: string | ((detail: string) => string);
  /** Baseline checks this restricted check replaces at the restricted level. */
  overrides?: string[];
  run: Check;
}

// The checks, in the order Kubernetes evaluates (and reports) them: by check id.
const CHECKS: readonly CheckDef[] = [
  {
    id: 'allowPrivilegeEscalation',
    level: 'restricted',
    reason: 'allowPrivilegeEscalation != false',
    run: (p) => {
      const bad = p.containers.filter((c) => c.sc.allowPrivilegeEscalation !== false).map((c) => c.name);
      return bad.length ? `${containersNamed(bad)} must set securityContext.allowPrivilegeEscalation=false` : undefined;
    },
  },
  {
    id: 'appArmorProfile',
    level: 'baseline',
    reason: (d) => (d.includes(', ') ? 'forbidden AppArmor profiles' : 'forbidden AppArmor profile'),
    run: (p) => {
      const bad: string[] = [];
      const unconfined = (sc: Rec) => str(rec(sc.appArmorProfile).type) === 'Unconfined';
      if (unconfined(p.podSc)) bad.push('pod must not set securityContext.appArmorProfile.type to "Unconfined"');
      const containers = p.containers.filter((c) => unconfined(c.sc)).map((c) => c.name);
      if (containers.length) bad.push(`${containersNamed(containers)} must not set securityContext.appArmorProfile.type to "Unconfined"`);
      for (const [key, value] of Object.entries(p.annotations)) {
        if (!key.startsWith(APPARMOR_ANNOTATION_PREFIX)) continue;
        if (value === '' || value === 'runtime/default' || value.startsWith('localhost/')) continue;
        bad.push(`${key}=${JSON.stringify(value)}`);
      }
      return bad.length ? bad.join(', ') : undefined;
    },
  },
  {
    id: 'capabilities_baseline',
    level: 'baseline',
    reason: 'non-default capabilities',
    run: (p) => {
      const { names, found: caps } = offenders(p.containers, (c) => arr(rec(c.sc.capabilities).add).map(str).filter((cap) => !BASELINE_CAPABILITIES.includes(cap)));
      return names.length ? `${containersNamed(names)} must not include ${quoted([...caps].sort())} in securityContext.capabilities.add` : undefined;
    },
  },
  {
    id: 'capabilities_restricted',
    level: 'restricted',
    reason: 'unrestricted capabilities',
    overrides: ['capabilities_baseline'],
    run: (p) => {
      const noDrop = p.containers.filter((c) => !arr(rec(c.sc.capabilities).drop).includes('ALL')).map((c) => c.name);
      const { names: adding, found: caps } = offenders(p.containers, (c) => arr(rec(c.sc.capabilities).add).map(str).filter((cap) => cap !== 'NET_BIND_SERVICE'));
      const parts: string[] = [];
      if (noDrop.length) parts.push(`${containersNamed(noDrop)} must set securityContext.capabilities.drop=["ALL"]`);
      if (adding.length) parts.push(`${containersNamed(adding)} must not include ${quoted([...caps].sort())} in securityContext.capabilities.add`);
      return parts.length ? parts.join('; ') : undefined;
    },
  },
  {
    id: 'hostNamespaces',
    level: 'baseline',
    reason: 'host namespaces',
    run: (p) => {
      const set = ['hostNetwork', 'hostPID', 'hostIPC'].filter((f) => p.spec[f] === true).map((f) => `${f}=true`);
      return set.length ? set.join(', ') : undefined;
    },
  },
  {
    id: 'hostPathVolumes',
    level: 'baseline',
    reason: 'hostPath volumes',
    run: (p) => {
      const names = arr(p.spec.volumes).filter((v) => rec(v).hostPath !== undefined && rec(v).hostPath !== null).map((v) => str(rec(v).name));
      return names.length ? `${names.length === 1 ? 'volume' : 'volumes'} ${quoted(names)}` : undefined;
    },
  },
  {
    id: 'hostPorts',
    level: 'baseline',
    reason: 'hostPort',
    run: (p) => {
      const { names, found: ports } = offenders(p.containers, (c) => arr(c.raw.ports).map((port) => rec(port).hostPort).filter((hp): hp is number => typeof hp === 'number' && hp !== 0));
      if (names.length === 0) return undefined;
      const list = [...ports].sort((a, b) => a - b);
      const verb = names.length === 1 ? 'uses' : 'use';
      return `${containersNamed(names)} ${verb} ${list.length === 1 ? 'hostPort' : 'hostPorts'} ${list.join(', ')}`;
    },
  },
  {
    id: 'privileged',
    level: 'baseline',
    reason: 'privileged',
    run: (p) => {
      const names = p.containers.filter((c) => c.sc.privileged === true).map((c) => c.name);
      return names.length ? `${containersNamed(names)} must not set securityContext.privileged=true` : undefined;
    },
  },
  {
    id: 'procMount',
    level: 'baseline',
    reason: 'procMount',
    run: (p) => {
      const bad = p.containers.filter((c) => c.sc.procMount !== undefined && c.sc.procMount !== null && c.sc.procMount !== 'Default');
      if (bad.length === 0) return undefined;
      const values = [...new Set(bad.map((c) => str(c.sc.procMount)))];
      return `${containersNamed(bad.map((c) => c.name))} must not set securityContext.procMount to ${quoted(values)}`;
    },
  },
  {
    id: 'restrictedVolumes',
    level: 'restricted',
    reason: 'restricted volume types',
    overrides: ['hostPathVolumes'],
    run: (p) => {
      const names: string[] = [];
      const types = new Set<string>();
      for (const v of arr(p.spec.volumes)) {
        const volume = rec(v);
        const type = Object.keys(volume).find((k) => k !== 'name' && volume[k] !== undefined && volume[k] !== null);
        if (type === undefined || RESTRICTED_VOLUME_TYPES.includes(type)) continue;
        names.push(str(volume.name));
        types.add(type);
      }
      if (names.length === 0) return undefined;
      const one = names.length === 1;
      return `${one ? 'volume' : 'volumes'} ${quoted(names)} ${one ? 'uses' : 'use'} restricted volume ${types.size === 1 ? 'type' : 'types'} ${quoted([...types].sort())}`;
    },
  },
  {
    id: 'runAsNonRoot',
    level: 'restricted',
    reason: 'runAsNonRoot != true',
    run: (p) => {
      const parts: string[] = [];
      const podValue = p.podSc.runAsNonRoot;
      if (podValue === false) parts.push('pod must not set securityContext.runAsNonRoot=false');
      const explicitFalse = p.containers.filter((c) => c.sc.runAsNonRoot === false).map((c) => c.name);
      if (explicitFalse.length) parts.push(`${containersNamed(explicitFalse)} must not set securityContext.runAsNonRoot=false`);
      if (podValue !== true) {
        const unset = p.containers.filter((c) => c.sc.runAsNonRoot === undefined || c.sc.runAsNonRoot === null).map((c) => c.name);
        if (unset.length) parts.push(`pod or ${containersNamed(unset)} must set securityContext.runAsNonRoot=true`);
      }
      return parts.length ? parts.join('; ') : undefined;
    },
  },
  {
    id: 'runAsUser',
    level: 'restricted',
    reason: 'runAsUser=0',
    run: (p) => {
      const pod = p.podSc.runAsUser === 0;
      const names = p.containers.filter((c) => c.sc.runAsUser === 0).map((c) => c.name);
      return pod || names.length ? `${podAndContainers(pod, names)} must not set runAsUser=0` : undefined;
    },
  },
  {
    id: 'seLinuxOptions',
    level: 'baseline',
    reason: 'seLinuxOptions',
    run: (p) => {
      const problems = (sc: Rec): string[] => {
        const o = sc.seLinuxOptions;
        if (!isRec(o)) return [];
        const out: string[] = [];
        if (!SELINUX_TYPES.includes(str(o.type))) out.push(`type ${JSON.stringify(str(o.type))}`);
        if (str(o.user) !== '') out.push(`user ${JSON.stringify(str(o.user))}`);
        if (str(o.role) !== '') out.push(`role ${JSON.stringify(str(o.role))}`);
        return out;
      };
      const pod = problems(p.podSc);
      const { names, found } = offenders(p.containers, (c) => problems(c.sc));
      const all = new Set([...pod, ...found]);
      if (all.size === 0) return undefined;
      const verb = pod.length > 0 || names.length > 1 ? 'set' : 'sets';
      return `${podAndContainers(pod.length > 0, names)} ${verb} forbidden securityContext.seLinuxOptions: ${[...all].join('; ')}`;
    },
  },
  {
    id: 'seccompProfile_baseline',
    level: 'baseline',
    reason: 'seccompProfile',
    run: (p) => {
      const unconfined = (sc: Rec) => str(rec(sc.seccompProfile).type) === 'Unconfined';
      const pod = unconfined(p.podSc);
      const names = p.containers.filter((c) => unconfined(c.sc)).map((c) => c.name);
      return pod || names.length ? `${podAndContainers(pod, names)} must not set securityContext.seccompProfile.type to "Unconfined"` : undefined;
    },
  },
  {
    id: 'seccompProfile_restricted',
    level: 'restricted',
    reason: 'seccompProfile',
    overrides: ['seccompProfile_baseline'],
    run: (p) => {
      const typeOf = (sc: Rec): string | undefined => {
        const profile = sc.seccompProfile;
        return isRec(profile) ? str(profile.type) : undefined;
      };
      const valid = (t: string | undefined) => t === 'RuntimeDefault' || t === 'Localhost';
      const parts: string[] = [];
      const podType = typeOf(p.podSc);
      if (podType !== undefined && !valid(podType)) parts.push(`pod must not set securityContext.seccompProfile.type to ${JSON.stringify(podType)}`);
      const badContainers = p.containers.filter((c) => typeOf(c.sc) !== undefined && !valid(typeOf(c.sc)));
      if (badContainers.length) {
        const types = [...new Set(badContainers.map((c) => typeOf(c.sc) as string))];
        parts.push(`${containersNamed(badContainers.map((c) => c.name))} must not set securityContext.seccompProfile.type to ${quoted(types)}`);
      }
      if (!valid(podType)) {
        const unset = p.containers.filter((c) => typeOf(c.sc) === undefined).map((c) => c.name);
        if (unset.length) parts.push(`pod or ${containersNamed(unset)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`);
      }
      return parts.length ? parts.join('; ') : undefined;
    },
  },
  {
    id: 'sysctls',
    level: 'baseline',
    reason: 'forbidden sysctls',
    run: (p) => {
      const bad = arr(p.podSc.sysctls).map((s) => str(rec(s).name)).filter((n) => !SAFE_SYSCTLS.includes(n));
      return bad.length ? bad.join(', ') : undefined;
    },
  },
  {
    id: 'windowsHostProcess',
    level: 'baseline',
    reason: 'hostProcess',
    run: (p) => {
      const hostProcess = (sc: Rec) => rec(sc.windowsOptions).hostProcess === true;
      const pod = hostProcess(p.podSc);
      const names = p.containers.filter((c) => hostProcess(c.sc)).map((c) => c.name);
      return pod || names.length ? `${podAndContainers(pod, names)} must not set securityContext.windowsOptions.hostProcess=true` : undefined;
    },
  },
];

/** True when s is one of the three level names. */
export function isPodSecurityLevel(s: unknown): s is PodSecurityLevel {
  return typeof s === 'string' && (POD_SECURITY_LEVELS as readonly string[]).includes(s);
}

/**
 * The checks the pod fails at a level, in Kubernetes' order; empty when it passes. Every pod
 * passes `privileged`.
 */
export function checkPodSecurity(level: PodSecurityLevel, pod: PodSecurityInput): PodSecurityViolation[] {
  if (level === 'privileged') return [];
  const active = CHECKS.filter((c) => level === 'restricted' || c.level === 'baseline');
  const overridden = new Set(active.flatMap((c) => c.overrides ?? []));
  const view = viewOf(pod);
  const out: PodSecurityViolation[] = [];
  for (const c of active) {
    if (overridden.has(c.id)) continue;
    const detail = c.run(view);
    if (detail === undefined) continue;
    out.push({ check: c.id, reason: typeof c.reason === 'string' ? c.reason : c.reason(detail), detail });
  }
  return out;
}

/** "reason (detail), reason (detail)", as Kubernetes joins a pod's violations. */
export function formatViolations(violations: readonly PodSecurityViolation[]): string {
  return violations.map((v) => (v.detail ? `${v.reason} (${v.detail})` : v.reason)).join(', ');
}

/** `"restricted:latest"` in messages: the level and the policy version it was judged by. */
export function policyLabel(level: PodSecurityLevel, version = 'latest'): string {
  return `${level}:${version}`;
}

/** The enforce refusal: `violates PodSecurity "restricted:latest": privileged (...)`. */
export function violationMessage(level: PodSecurityLevel, violations: readonly PodSecurityViolation[], version = 'latest'): string {
  return `violates PodSecurity ${JSON.stringify(policyLabel(level, version))}: ${formatViolations(violations)}`;
}

/** The warn-mode message: `would violate PodSecurity "baseline:latest": hostPath volumes (...)`. */
export function warningMessage(level: PodSecurityLevel, violations: readonly PodSecurityViolation[], version = 'latest'): string {
  return `would violate PodSecurity ${JSON.stringify(policyLabel(level, version))}: ${formatViolations(violations)}`;
}

/** What a namespace's labels ask of Pod Security admission. */
export interface NamespacePodSecurity {
  enforce: PodSecurityLevel;
  enforceVersion: string;
  /** Level whose violations are returned as warnings (absent: none). */
  warn?: PodSecurityLevel;
  warnVersion: string;
  audit?: PodSecurityLevel;
}

const VERSION_RE = /^(latest|v1\.(0|[1-9][0-9]{0,2}))$/;

/**
 * Problems with a namespace's pod-security labels ("" keys absent): a level that is not one of the
 * three, a version that is not "latest" or "v1.N". Each names the label.
 */
export function podSecurityLabelProblems(labels: Readonly<Record<string, string>> | undefined): string[] {
  const problems: string[] = [];
  const l = labels ?? {};
  for (const mode of ['enforce', 'warn', 'audit'] as const) {
    const key = POD_SECURITY_LABELS[mode];
    const value = l[key];
    if (value !== undefined && !isPodSecurityLevel(value)) {
      problems.push(`metadata.labels["${key}"]: invalid value ${JSON.stringify(value)}: must be one of ${POD_SECURITY_LEVELS.join(', ')}`);
    }
    const versionKey = `${key}-version`;
    const version = l[versionKey];
    if (version !== undefined && !VERSION_RE.test(version)) {
      problems.push(`metadata.labels["${versionKey}"]: invalid value ${JSON.stringify(version)}: must be "latest" or "v1.<minor>"`);
    }
  }
  return problems;
}

/**
 * The policy a namespace's labels set. Invalid values (refused when a namespace is written, but a
 * missing namespace or a damaged store may still hand one over) fall back to the most restrictive
 * reading for enforce (restricted) and are ignored for warn and audit. Versions are accepted and
 * reported, but every version is judged by the latest checks.
 */
export function namespacePodSecurity(labels: Readonly<Record<string, string>> | undefined): NamespacePodSecurity {
  const l = labels ?? {};
  const enforceRaw = l[POD_SECURITY_LABELS.enforce];
  const enforce = enforceRaw === undefined ? DEFAULT_POD_SECURITY_LEVEL : isPodSecurityLevel(enforceRaw) ? enforceRaw : 'restricted';
  const warnRaw = l[POD_SECURITY_LABELS.warn];
  const auditRaw = l[POD_SECURITY_LABELS.audit];
  return {
    enforce,
    enforceVersion: 'latest',
    ...(isPodSecurityLevel(warnRaw) ? { warn: warnRaw } : {}),
    warnVersion: 'latest',
    ...(isPodSecurityLevel(auditRaw) ? { audit: auditRaw } : {}),
  };
}
