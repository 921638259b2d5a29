import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { formatMachine, nodeStatus, parseOutputFormat, podStatus, printTable, toList } from '../../../src/cli/printers.js';

const now = new Date('2026-01-03T00:00:00Z');

function pod(name: string, extra: { status?: any; spec?: any; metadata?: any } = {}): any {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', creationTimestamp: '2026-01-02T23:59:55Z', ...extra.metadata },
    spec: { containers: [{ name: 'c', image: 'busybox' }], initContainers: [], ...extra.spec },
    status: extra.status,
  };
}

const running = (restarts = 0, finishedAt?: string) => ({
  phase: 'Running',
  podIP: '10.88.0.5',
  conditions: [{ type: 'Ready', status: 'True' }],
  containerStatuses: [{ name: 'c', ready: true, restartCount: restarts, state: { running: { startedAt: 'x' } }, lastState: finishedAt ? { terminated: { exitCode: 1, reason: 'Error', finishedAt } } : {} }],
});

test('pods print as NAME READY STATUS RESTARTS AGE, and -o wide adds IP and NODE', () => {
  const pods = [
    pod('web-1', { status: running(), spec: { nodeName: 'node-a' } }),
    pod('crashy', { status: { phase: 'Running', containerStatuses: [{ name: 'c', ready: false, restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, finishedAt: '2026-01-02T23:58:00Z' } } }] } }),
    pod('new', { metadata: { creationTimestamp: '2025-12-31T00:00:00Z' } }),
  ];
  assert.equal(
    printTable('Pod', pods, { wide: false, withNamespace: false }, now),
    [
      'NAME     READY   STATUS             RESTARTS     AGE',
      'web-1    1/1     Running            0            5s',
      'crashy   0/1     CrashLoopBackOff   4 (2m ago)   5s',
      'new      0/1     Pending            0            3d',
    ].join('\n'),
  );
  const wide = printTable('Pod', pods.slice(0, 1), { wide: true, withNamespace: true }, now).split('\n');
  assert.equal(wide[0], 'NAMESPACE   NAME    READY   STATUS    RESTARTS   AGE   IP          NODE');
  assert.equal(wide[1], 'default     web-1   1/1     Running   0          5s    10.88.0.5   node-a');
});

test("a pod's STATUS follows kubectl: init progress, container reasons, Completed, Terminating", () => {
  const initSpec = { initContainers: [{ name: 'i1' }, { name: 'i2' }] };
  const cases: [any, string][] = [
    [pod('a'), 'Pending'],
    [pod('a', { status: { phase: 'Pending', containerStatuses: [{ name: 'c', state: { waiting: { reason: 'ContainerCreating' } } }] } }), 'ContainerCreating'],
    [pod('a', { spec: initSpec, status: { phase: 'Pending', initContainerStatuses: [{ name: 'i1', state: { terminated: { exitCode: 0 } } }, { name: 'i2', state: { running: {} } }] } }), 'Init:1/2'],
    [pod('a', { spec: initSpec, status: { phase: 'Pending', initContainerStatuses: [{ name: 'i1', state: { terminated: { exitCode: 2, reason: 'Error' } } }] } }), 'Init:Error'],
    [pod('a', { spec: initSpec, status: { phase: 'Pending', initContainerStatuses: [{ name: 'i1', state: { waiting: { reason: 'CrashLoopBackOff' } } }] } }), 'Init:CrashLoopBackOff'],
    [pod('a', { status: { phase: 'Succeeded', containerStatuses: [{ name: 'c', state: { terminated: { exitCode: 0, reason: 'Completed' } } }] } }), 'Completed'],
    [pod('a', { status: { phase: 'Failed', containerStatuses: [{ name: 'c', state: { terminated: { exitCode: 137 } } }] } }), 'Signal:9'],
    [pod('a', { status: { phase: 'Failed', reason: 'Evicted' } }), 'Evicted'],
    [pod('a', { status: running(), metadata: { deletionTimestamp: '2026-01-02T23:59:59Z' } }), 'Terminating'],
  ];
  for (const [p, want] of cases) assert.equal(podStatus(p), want, JSON.stringify(p.status));
});

test('nodes print NAME STATUS ROLES AGE VERSION, SchedulingDisabled when cordoned, and more with -o wide', () => {
  const node = {
    kind: 'Node',
    metadata: { name: 'node-a', creationTimestamp: '2026-01-02T21:00:00Z', labels: { 'node-role.kubernetes.io/control-plane': '' } },
    spec: { unschedulable: true, taints: [] },
    status: {
      conditions: [{ type: 'Ready', status: 'True' }],
      addresses: [{ type: 'InternalIP', address: '10.0.0.2' }],
      nodeInfo: { kubeletVersion: '0.1.0', osImage: 'Debian GNU/Linux 12', kernelVersion: '6.1.0', containerRuntimeVersion: 'corelet://0.1.0' },
    },
  };
  const lost = { kind: 'Node', metadata: { name: 'node-b', creationTimestamp: '2026-01-02T23:00:00Z', labels: {} }, spec: {}, status: { conditions: [{ type: 'Ready', status: 'False' }] } };
  assert.equal(nodeStatus(node as any), 'Ready,SchedulingDisabled');
  assert.equal(
    printTable('Node', [node, lost], { wide: false, withNamespace: false }, now),
    ['NAME     STATUS                     ROLES           AGE   VERSION', 'node-a   Ready,SchedulingDisabled   control-plane   3h    0.1.0', 'node-b   NotReady                   <none>          60m   <none>'].join('\n'),
  );
  const wide = printTable('Node', [node], { wide: true, withNamespace: true }, now).split('\n');
  assert.equal(wide[0], 'NAME     STATUS                     ROLES           AGE   VERSION   INTERNAL-IP   OS-IMAGE              KERNEL-VERSION   CONTAINER-RUNTIME', 'cluster-scoped: no NAMESPACE column');
  assert.equal(wide[1], 'node-a   Ready,SchedulingDisabled   control-plane   3h    0.1.0     10.0.0.2      Debian GNU/Linux 12   6.1.0            corelet://0.1.0');
});

test('workloads and events have their kubectl columns', () => {
  const deployment = { kind: 'Deployment', metadata: { name: 'web', creationTimestamp: '2026-01-02T23:00:00Z' }, spec: { replicas: 3 }, status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 } };
  assert.equal(printTable('Deployment', [deployment], { wide: false, withNamespace: false }, now), 'NAME   READY   UP-TO-DATE   AVAILABLE   AGE\nweb    2/3     3            2           60m');
  const job = {
    kind: 'Job',
    metadata: { name: 'once', creationTimestamp: '2026-01-02T23:59:00Z' },
    spec: { completions: 2, parallelism: 1 },
    status: { succeeded: 2, startTime: '2026-01-02T23:59:00Z', completionTime: '2026-01-02T23:59:30Z', conditions: [{ type: 'Complete', status: 'True' }] },
  };
  assert.equal(printTable('Job', [job], { wide: false, withNamespace: false }, now), 'NAME   STATUS     COMPLETIONS   DURATION   AGE\nonce   Complete   2/2           30s        60s');
  const sts = { kind: 'StatefulSet', metadata: { name: 'db', creationTimestamp: '2026-01-02T23:59:50Z' }, spec: { replicas: 2 }, status: { readyReplicas: 1 } };
  assert.equal(printTable('StatefulSet', [sts], { wide: false, withNamespace: false }, now), 'NAME   READY   AGE\ndb     1/2     10s');
  const ds = { kind: 'DaemonSet', metadata: { name: 'agent', creationTimestamp: '2026-01-02T23:59:50Z' }, spec: { template: { spec: { nodeSelector: { disk: 'ssd' } } } }, status: { desiredNumberScheduled: 2, currentNumberScheduled: 2, numberReady: 1, updatedNumberScheduled: 2, numberAvailable: 1 } };
  assert.equal(
    printTable('DaemonSet', [ds], { wide: false, withNamespace: false }, now),
    'NAME    DESIRED   CURRENT   READY   UP-TO-DATE   AVAILABLE   NODE SELECTOR   AGE\nagent   2         2         1       2            1           disk=ssd        10s',
  );
  const event = { type: 'Warning', reason: 'BackOff', message: 'Back-off\nrestarting', involvedObject: { kind: 'Pod', namespace: 'team', name: 'web' }, firstTimestamp: '2026-01-02T23:50:00Z', lastTimestamp: '2026-01-02T23:59:00Z', count: 3 };
  assert.equal(
    printTable('Event', [event], { wide: false, withNamespace: true }, now),
    'NAMESPACE   LAST SEEN   TYPE      REASON    OBJECT    MESSAGE\nteam        60s         Warning   BackOff   pod/web   Back-off restarting',
  );
});

test('-o json and -o yaml print a v1 List of the objects as the API returns them; -o name prints kind/name', () => {
  const items = [pod('a'), pod('b')];
  const json = JSON.parse(formatMachine('json', toList(items)));
  assert.deepEqual(Object.keys(json).sort(), ['apiVersion', 'items', 'kind', 'metadata']);
  assert.equal(json.kind, 'List');
  assert.equal(json.apiVersion, 'v1');
  assert.deepEqual(json.items, JSON.parse(JSON.stringify(items)));
  assert.deepEqual(parse(formatMachine('yaml', toList(items))), json);
  assert.equal(formatMachine('name', toList([...items, { kind: 'Deployment', metadata: { name: 'web' } }])), 'pod/a\npod/b\ndeployment.apps/web');
  // Server-side apply's managedFields are left out, as kubectl leaves them out.
  const managed = { ...pod('c'), metadata: { ...pod('c').metadata, managedFields: [{ manager: 'kubectl', operation: 'Apply' }] } };
  assert.equal(JSON.parse(formatMachine('json', managed)).metadata.managedFields, undefined);
  assert.equal(parse(formatMachine('yaml', toList([managed]))).items[0].metadata.managedFields, undefined);
  assert.equal(parseOutputFormat(undefined), 'table');
  assert.throws(() => parseOutputFormat('jsonpath'), /unknown output format "jsonpath": use wide, json, yaml or name/);
});
