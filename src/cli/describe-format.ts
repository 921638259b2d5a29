/**
 * `corelet describe` text (pure): an object's metadata, the state that matters for its kind
 * (containers and conditions of a pod, capacity and pods of a node, replicas and strategy of a
 * workload) and the events about it, laid out as kubectl describe does.
 */
import { POD_SECURITY_LABELS, namespacePodSecurity } from '../api/index.js';
import { describeRbac, isRbacDescribed } from './describe-rbac.js';
import type { Container, ContainerState, ContainerStatus, EndpointSlice, ObjectEvent, Pod, PodTemplateSpec, Service } from '../api/index.js';
import { nodeRoles, podStatus, selectorText, jobStatus } from './printers.js';
import { age, formatTable, humanDuration } from './table.js';

const NONE = '<none>';

/** A field's value: text, lines, or text with a block of sub-fields. */
type Value = string | string[] | { text: string; details: [string, string | undefined][] };

/** Lines with aligned "Key:  value" blocks. */
class Text {
  readonly lines: string[] = [];

  /**
   * Key/value pairs aligned on the longest key; a list value continues on aligned lines; a value
   * with details ("State: Running" and its "Started: ...") gets them as a block indented under it.
   */
  fields(pairs: [string, Value | undefined][], indent = 0): this {
    const shown = pairs.filter(([, v]) => v !== undefined) as [string, Value][];
    const width = Math.max(0, ...shown.map(([k]) => k.length + 1)) + 2;
    const pad = ' '.repeat(indent);
    for (const [key, value] of shown) {
      const values = typeof value === 'string' ? [value] : Array.isArray(value) ? (value.length > 0 ? value : [NONE]) : [value.text];
      this.lines.push(`${pad}${`${key}:`.padEnd(width)}${values[0]}`.trimEnd());
      for (const v of values.slice(1)) this.lines.push(`${pad}${' '.repeat(width)}${v}`);
      if (typeof value === 'object' && !Array.isArray(value)) this.fields(value.details, indent + 2);
    }
    return this;
  }

  line(text: string, indent = 0): this {
    this.lines.push(`${' '.repeat(indent)}${text}`);
    return this;
  }

  table(rows: string[][], indent = 2): this {
    for (const l of formatTable(rows).split('\n')) this.lines.push(`${' '.repeat(indent)}${l}`);
    return this;
  }

  toString(): string {
    return this.lines.join('\n');
  }
}

const pairsOf = (m: Record<string, string> | undefined): string[] => Object.entries(m ?? {}).map(([k, v]) => `${k}=${v}`);
const mapText = (m: Record<string, string> | undefined): string => pairsOf(m).join(', ') || NONE;

function controlledBy(obj: any): string | undefined {
  const owner = (obj.metadata?.ownerReferences ?? []).find((o: { controller?: boolean }) => o.controller) ?? obj.metadata?.ownerReferences?.[0];
  return owner ? `${owner.kind}/${owner.name}` : undefined;
}

function metadataFields(obj: any, namespaced: boolean): [string, Value | undefined][] {
  return [
    ['Name', obj.metadata?.name],
    ...(namespaced ? ([['Namespace', obj.metadata?.namespace]] as [string, string][]) : []),
    ['Labels', pairsOf(obj.metadata?.labels)],
    ['Annotations', pairsOf(obj.metadata?.annotations)],
    ['CreationTimestamp', obj.metadata?.creationTimestamp ?? NONE],
  ];
}

/** The Events section: TYPE REASON AGE FROM MESSAGE, or <none>. */
function events(t: Text, list: readonly ObjectEvent[], now: Date): void {
  if (list.length === 0) {
    t.fields([['Events', NONE]]);
    return;
  }
  t.line('Events:');
  const rows = list.map((e) => [
    e.type,
    e.reason,
    e.count > 1 ? `${age(e.lastTimestamp, now)} (x${e.count} over ${age(e.firstTimestamp, now)})` : age(e.lastTimestamp, now),
    e.source?.component ?? '',
    e.message.replace(/\s*\n\s*/g, ' '),
  ]);
  t.table([['Type', 'Reason', 'Age', 'From', 'Message'], ['----', '------', '----', '----', '-------'], ...rows]);
}

function conditions(t: Text, conds: { type: string; status: string; reason?: string }[] | undefined, withReason: boolean): void {
  if (!conds || conds.length === 0) return;
  t.line('Conditions:');
  const header = withReason ? ['Type', 'Status', 'Reason'] : ['Type', 'Status'];
  t.table([header, header.map((h) => '-'.repeat(h.length)), ...conds.map((c) => (withReason ? [c.type, c.status, c.reason ?? NONE] : [c.type, c.status]))]);
}

function stateValue(state: ContainerState | undefined): Value {
  if (state?.running) return { text: 'Running', details: [['Started', state.running.startedAt]] };
  if (state?.terminated) {
    const s = state.terminated;
    return {
      text: 'Terminated',
      details: [
        ['Reason', s.reason || NONE],
        ['Exit Code', String(s.exitCode)],
        ['Started', s.startedAt],
        ['Finished', s.finishedAt],
      ],
    };
  }
  if (state?.waiting) return { text: 'Waiting', details: [['Reason', state.waiting.reason], ['Message', state.waiting.message]] };
  return 'Waiting';
}

function resources(r: Container['resources'] | undefined, which: 'requests' | 'limits'): string[] | undefined {
  const m = r?.[which];
  return m && Object.keys(m).length > 0 ? Object.entries(m).map(([k, v]) => `${k}: ${v}`) : undefined;
}

function containers(t: Text, title: string, list: readonly Container[] | undefined, statuses: readonly ContainerStatus[] | undefined, indent: number): void {
  if (!list || list.length === 0) return;
  t.line(`${title}:`, indent);
  for (const c of list) {
    const st = statuses?.find((s) => s.name === c.name);
    t.line(`${c.name}:`, indent + 2);
    const fields: [string, Value | undefined][] = [
      ['Image', c.image],
      ['Port', c.ports?.length ? c.ports.map((p) => `${p.containerPort}/${p.protocol ?? 'TCP'}${p.hostPort ? ` (host ${p.hostPort})` : ''}`).join(', ') : undefined],
      ['Command', c.command],
      ['Args', c.args],
    ];
    if (statuses) {
      fields.push(['State', stateValue(st?.state)]);
      if (st?.lastState && Object.keys(st.lastState).length > 0) fields.push(['Last State', stateValue(st.lastState)]);
      fields.push(['Ready', st?.ready ? 'True' : 'False'], ['Restart Count', String(st?.restartCount ?? 0)]);
    }
    fields.push(
      ['Requests', resources(c.resources, 'requests')],
      ['Limits', resources(c.resources, 'limits')],
      ['Environment', (c.env ?? []).map((e) => `${e.name}: ${e.value ?? (e.valueFrom ? `(${e.valueFrom.fieldRef.fieldPath})` : '')}`)],
      ['Mounts', (c.volumeMounts ?? []).map((m) => `${m.mountPath} from ${m.name} (${m.readOnly ? 'ro' : 'rw'})`)],
    );
    t.fields(fields, indent + 4);
  }
}

function podTemplate(t: Text, tpl: PodTemplateSpec | undefined): void {
  t.line('Pod Template:');
  t.fields([['Labels', pairsOf(tpl?.metadata?.labels)]], 2);
  containers(t, 'Containers', tpl?.spec?.containers, undefined, 2);
  containers(t, 'Init Containers', tpl?.spec?.initContainers, undefined, 2);
}

function volumeText(v: Pod['spec']['volumes'][number]): string {
  if (v.emptyDir) return `${v.name}: EmptyDir${v.emptyDir.medium ? ` (medium ${v.emptyDir.medium})` : ''}${v.emptyDir.sizeLimit ? ` sizeLimit ${v.emptyDir.sizeLimit}` : ''}`;
  if (v.hostPath) return `${v.name}: HostPath ${v.hostPath.path}`;
  if (v.persistentLocal) return `${v.name}: node-local claim ${v.persistentLocal.claimName}`;
  return v.name;
}

function describePod(t: Text, pod: Pod, now: Date): void {
  const s = pod.status;
  // As kubectl: how long the deletion has been waiting for the node, and its grace period.
  const { deletionTimestamp, deletionGracePeriodSeconds } = pod.metadata ?? {};
  const requested = deletionTimestamp ? Date.parse(deletionTimestamp) - (deletionGracePeriodSeconds ?? 0) * 1000 : NaN;
  t.fields([
    ...metadataFields(pod, true).slice(0, 2),
    ['Node', pod.spec?.nodeName ? `${pod.spec.nodeName}${s?.hostIP ? `/${s.hostIP}` : ''}` : NONE],
    ['Start Time', s?.startTime ?? NONE],
    ...metadataFields(pod, true).slice(2, 4),
    ['Status', Number.isNaN(requested) ? podStatus(pod) : `Terminating (lasts ${humanDuration(Math.max(0, now.getTime() - requested))})`],
    ['Termination Grace Period', deletionGracePeriodSeconds === undefined ? undefined : `${deletionGracePeriodSeconds}s`],
    ['Reason', s?.reason],
    ['Message', s?.message],
    ['IP', s?.podIP || NONE],
    ['Controlled By', controlledBy(pod)],
  ]);
  containers(t, 'Init Containers', pod.spec?.initContainers, s?.initContainerStatuses ?? [], 0);
  containers(t, 'Containers', pod.spec?.containers, s?.containerStatuses ?? [], 0);
  conditions(t, s?.conditions, false);
  t.fields([
    ['Volumes', (pod.spec?.volumes ?? []).map(volumeText)],
    ['QoS Class', s?.qosClass ?? NONE],
    ['Node-Selectors', pairsOf(pod.spec?.nodeSelector)],
    ['Tolerations', (pod.spec?.tolerations ?? []).map((tl) => `${tl.key ?? ''}${tl.value ? `=${tl.value}` : ''}${tl.effect ? `:${tl.effect}` : ''}${tl.operator === 'Exists' && !tl.key ? 'op=Exists' : ''}`)],
  ]);
}

function describeNode(t: Text, node: any, pods: readonly Pod[], now: Date): void {
  const st = node.status ?? {};
  const info = st.nodeInfo ?? {};
  t.fields([
    ['Name', node.metadata?.name],
    ['Roles', nodeRoles(node)],
    ...metadataFields(node, false).slice(1),
    ['Taints', (node.spec?.taints ?? []).map((x: any) => `${x.key}${x.value ? `=${x.value}` : ''}:${x.effect}`)],
    ['Unschedulable', node.spec?.unschedulable ? 'true' : 'false'],
  ]);
  const conds = (st.conditions ?? []) as any[];
  if (conds.length > 0) {
    t.line('Conditions:');
    t.table([
      ['Type', 'Status', 'LastHeartbeatTime', 'LastTransitionTime', 'Reason', 'Message'],
      ['----', '------', '-----------------', '------------------', '------', '-------'],
      ...conds.map((c) => [c.type, c.status, c.lastHeartbeatTime ?? NONE, c.lastTransitionTime ?? NONE, c.reason ?? '', c.message ?? '']),
    ]);
  }
  t.line('Addresses:');
  t.fields((st.addresses ?? []).map((a: any) => [a.type, a.address]), 2);
  t.line('Capacity:');
  t.fields(Object.entries(st.capacity ?? {}).map(([k, v]) => [k, String(v)]), 2);
  t.line('Allocatable:');
  t.fields(Object.entries(st.allocatable ?? {}).map(([k, v]) => [k, String(v)]), 2);
  t.line('System Info:');
  t.fields(
    [
      ['Kernel Version', info.kernelVersion || NONE],
      ['OS Image', info.osImage || NONE],
      ['Operating System', info.operatingSystem || NONE],
      ['Architecture', info.architecture || NONE],
      ['Container Runtime Version', info.containerRuntimeVersion || NONE],
      ['Agent Version', info.kubeletVersion || NONE],
    ],
    2,
  );
  t.fields([['PodCIDR', node.spec?.podCIDR ?? NONE]]);
  t.line(`Non-terminated Pods: (${pods.length} in total)`);
  if (pods.length > 0) {
    const sum = (p: Pod, r: string) => p.spec.containers.map((c) => c.resources?.requests?.[r]).filter(Boolean).join('+') || '0';
    t.table([
      ['Namespace', 'Name', 'CPU Requests', 'Memory Requests', 'Age'],
      ['---------', '----', '------------', '---------------', '---'],
      ...pods.map((p) => [p.metadata.namespace, p.metadata.name, sum(p, 'cpu'), sum(p, 'memory'), age(p.metadata.creationTimestamp, now)]),
    ]);
  }
}

function describeNamespace(t: Text, ns: any): void {
  const policy = namespacePodSecurity(ns.metadata?.labels);
  const enforceSet = ns.metadata?.labels?.[POD_SECURITY_LABELS.enforce] !== undefined;
  t.fields([
    ...metadataFields(ns, false),
    ['Status', ns.status?.phase ?? 'Active'],
    ['Pod Security', `enforce ${policy.enforce}${enforceSet ? '' : ' (no label: the default)'}${policy.warn ? `, warn ${policy.warn}` : ''}${policy.audit ? `, audit ${policy.audit}` : ''}`],
  ]);
}

function describeWorkload(t: Text, obj: any, now: Date): void {
  const spec = obj.spec ?? {};
  const st = obj.status ?? {};
  const fields: [string, Value | undefined][] = [...metadataFields(obj, true), ['Selector', selectorText(spec.selector)], ['Controlled By', controlledBy(obj)]];
  switch (obj.kind) {
    case 'Deployment': {
      const want = spec.replicas ?? 1;
      fields.push(
        ['Replicas', `${want} desired | ${st.updatedReplicas ?? 0} updated | ${st.replicas ?? 0} total | ${st.availableReplicas ?? 0} available | ${st.unavailableReplicas ?? 0} unavailable`],
        ['StrategyType', spec.strategy?.type],
        ['MinReadySeconds', String(spec.minReadySeconds ?? 0)],
        ['RollingUpdateStrategy', spec.strategy?.rollingUpdate ? `${spec.strategy.rollingUpdate.maxUnavailable} max unavailable, ${spec.strategy.rollingUpdate.maxSurge} max surge` : undefined],
        ['Revision', obj.metadata?.annotations?.['deployment.kubernetes.io/revision']],
        ['Paused', spec.paused ? 'true' : undefined],
      );
      break;
    }
    case 'ReplicaSet':
      fields.push(['Replicas', `${st.replicas ?? 0} current / ${spec.replicas ?? 0} desired`], ['Pods Status', `${st.readyReplicas ?? 0} Ready / ${st.availableReplicas ?? 0} Available`]);
      break;
    case 'StatefulSet':
      fields.push(
        ['Service Name', spec.serviceName],
        ['Replicas', `${spec.replicas ?? 1} desired | ${st.replicas ?? 0} total`],
        ['Update Strategy', spec.updateStrategy?.type],
        ['Partition', spec.updateStrategy?.rollingUpdate?.partition !== undefined ? String(spec.updateStrategy.rollingUpdate.partition) : undefined],
        ['Pod Management Policy', spec.podManagementPolicy],
        ['Pods Status', `${st.readyReplicas ?? 0} Ready / ${st.currentReplicas ?? 0} Current / ${st.updatedReplicas ?? 0} Updated`],
      );
      break;
    case 'DaemonSet':
      fields.push(
        ['Node-Selector', mapText(spec.template?.spec?.nodeSelector)],
        ['Desired Number of Nodes Scheduled', String(st.desiredNumberScheduled ?? 0)],
        ['Current Number of Nodes Scheduled', String(st.currentNumberScheduled ?? 0)],
        ['Number of Nodes Scheduled with Up-to-date Pods', String(st.updatedNumberScheduled ?? 0)],
        ['Number of Nodes Scheduled with Available Pods', String(st.numberAvailable ?? 0)],
        ['Number of Nodes Misscheduled', String(st.numberMisscheduled ?? 0)],
        ['Pods Status', `${st.numberReady ?? 0} Ready / ${st.numberUnavailable ?? 0} Unavailable`],
      );
      break;
    case 'Job': {
      const start = Date.parse(st.startTime ?? '');
      const end = Date.parse(st.completionTime ?? '');
      fields.push(
        ['Status', jobStatus(obj)],
        ['Parallelism', String(spec.parallelism ?? 1)],
        ['Completions', spec.completions !== undefined ? String(spec.completions) : NONE],
        ['Backoff Limit', String(spec.backoffLimit ?? 6)],
        ['Start Time', st.startTime],
        ['Completed At', st.completionTime],
        ['Duration', Number.isNaN(start) ? undefined : humanDuration((Number.isNaN(end) ? now.getTime() : end) - start)],
        ['Pods Statuses', `${st.active ?? 0} Active / ${st.succeeded ?? 0} Succeeded / ${st.failed ?? 0} Failed`],
      );
      break;
    }
  }
  t.fields(fields);
  podTemplate(t, spec.template);
  if (obj.kind === 'StatefulSet' && spec.volumeClaimTemplates?.length) {
    t.line('Volume Claims:');
    for (const c of spec.volumeClaimTemplates) {
      t.fields([['Name', c.metadata?.name], ['Capacity', c.spec?.resources?.requests?.storage], ['Access Modes', (c.spec?.accessModes ?? []).join(', ')]], 2);
    }
  }
  conditions(t, st.conditions, true);
}

/** "10.244.1.5:8080,10.244.2.5:8080": the ready endpoints of a Service port, from its slices. */
export function serviceEndpoints(portName: string, slices: readonly EndpointSlice[]): string {
  const out: string[] = [];
  for (const slice of slices) {
    const port = (slice.ports ?? []).find((p) => p.name === portName);
    if (!port) continue;
    for (const e of slice.endpoints ?? []) if (e.conditions?.ready !== false) for (const a of e.addresses ?? []) out.push(`${a}:${port.port}`);
  }
  return out.join(',') || NONE;
}

/** kubectl describe service: type, IPs, each port with its target, node port and endpoints. */
function describeService(t: Text, svc: Service, slices: readonly EndpointSlice[]): void {
  const spec = svc.spec ?? ({} as Service['spec']);
  const fields: [string, Value | undefined][] = [
    ...metadataFields(svc, true),
    ['Selector', mapText(spec.selector)],
    ['Type', spec.type ?? 'ClusterIP'],
    ['IP Families', 'IPv4'],
    ['IP', spec.clusterIP ?? NONE],
    ['IPs', spec.clusterIPs?.join(',') ?? NONE],
  ];
  const ports = spec.ports ?? [];
  if (ports.length === 0) fields.push(['Port', '<unset>  <none>/TCP'], ['Endpoints', (slices.flatMap((s) => (s.endpoints ?? []).filter((e) => e.conditions?.ready !== false).flatMap((e) => e.addresses)).join(',') || NONE)]);
  for (const p of ports) {
    const name = p.name || '<unset>';
    fields.push(['Port', `${name}  ${p.port}/${p.protocol}`], ['TargetPort', `${p.targetPort}/${p.protocol}`]);
    if (p.nodePort) fields.push(['NodePort', `${name}  ${p.nodePort}/${p.protocol}`]);
    fields.push(['Endpoints', serviceEndpoints(p.name ?? '', slices)]);
  }
  fields.push(['Session Affinity', spec.sessionAffinity ?? 'None']);
  if (spec.sessionAffinity === 'ClientIP') fields.push(['Session Affinity Timeout', `${spec.sessionAffinityConfig?.clientIP.timeoutSeconds ?? 10800}s`]);
  if (spec.publishNotReadyAddresses) fields.push(['Publish Not Ready Addresses', 'true']);
  t.fields(fields);
}

/** kubectl describe endpointslice: address type, ports, and each endpoint with its conditions. */
function describeEndpointSlice(t: Text, slice: EndpointSlice): void {
  t.fields([...metadataFields(slice, true), ['AddressType', slice.addressType ?? 'IPv4']]);
  t.line('Ports:');
  t.table([['Name', 'Port', 'Protocol'], ['----', '----', '--------'], ...(slice.ports ?? []).map((p) => [p.name || '<unset>', String(p.port), p.protocol])]);
  t.line('Endpoints:');
  for (const e of slice.endpoints ?? []) {
    t.fields(
      [
        ['- Addresses', e.addresses.join(',')],
        ['Conditions', [`Ready:    ${e.conditions.ready}`, `Serving:  ${e.conditions.serving}`, `Terminating: ${e.conditions.terminating}`]],
        ['Hostname', e.hostname ?? '<unset>'],
        ['TargetRef', e.targetRef ? `${e.targetRef.kind}/${e.targetRef.name}` : undefined],
        ['NodeName', e.nodeName ?? '<unset>'],
      ],
      2,
    );
  }
}

/** Related objects describe shows besides the object itself. */
export interface DescribeContext {
  /** For a Service: its EndpointSlices. */
  endpointSlices?: readonly EndpointSlice[];
  /** Events about the object, oldest first. */
  events: readonly ObjectEvent[];
  /** For a node: the pods bound to it. */
  pods?: readonly Pod[];
}

/** The describe text of one object. */
export function describeObject(obj: any, ctx: DescribeContext, now: Date): string {
  if (isRbacDescribed(obj.kind)) return describeRbac(obj);
  const t = new Text();
  if (obj.kind === 'Pod') describePod(t, obj, now);
  else if (obj.kind === 'Node') describeNode(t, obj, ctx.pods ?? [], now);
  else if (obj.kind === 'Namespace') describeNamespace(t, obj);
  else if (obj.kind === 'Service') describeService(t, obj, ctx.endpointSlices ?? []);
  else if (obj.kind === 'EndpointSlice') describeEndpointSlice(t, obj);
  else describeWorkload(t, obj, now);
  events(t, ctx.events, now);
  return t.toString();
}

/** A pod template as describe shows it (labels, containers), for `rollout history --revision`. */
export function describePodTemplate(tpl: PodTemplateSpec | undefined): string {
  const t = new Text();
  podTemplate(t, tpl);
  return t.toString();
}
