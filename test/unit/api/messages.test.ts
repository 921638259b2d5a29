import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_MESSAGE_BYTES,
  MessageError,
  encodeMessage,
  errorMessage,
  parseMessage,
  type Message,
  type ParseMessageOptions,
} from '../../../src/api/index.js';
import { isKind } from '../../../src/lib/index.js';

type Json = Record<string, any>;

const NOW = '2026-05-01T10:00:00.000Z';

function register(edit: (m: Json) => void = () => {}): Json {
  const m: Json = {
    v: 1,
    type: 'register',
    id: 'r1',
    nodeName: 'node-a',
    labels: { 'kubernetes.io/hostname': 'node-a', zone: 'a' },
    capacity: { cpu: '4', memory: '8Gi', pods: '110', 'ephemeral-storage': '50Gi' },
    allocatable: { cpu: '3800m', memory: '7Gi', pods: '110' },
    runtime: { name: 'corelet', version: '0.1.0' },
    addresses: [
      { type: 'InternalIP', address: '10.0.0.5' },
      { type: 'Hostname', address: 'node-a' },
    ],
    podCIDR: '10.244.1.0/24',
    pods: [{ uid: 'u-1', phase: 'Running' }],
    system: { kernelVersion: '6.1.0', architecture: 'amd64' },
  };
  edit(m);
  return m;
}

function pod(edit: (p: Json) => void = () => {}): Json {
  const p: Json = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'default', uid: '7b0c2f4e-0000-4000-8000-000000000001' },
    spec: { containers: [{ name: 'web', image: 'nginx:1.25' }], nodeName: 'node-a' },
  };
  edit(p);
  return p;
}

function podStatus(edit: (m: Json) => void = () => {}): Json {
  const m: Json = {
    v: 1,
    type: 'podStatus',
    uid: 'u-1',
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: NOW }],
      hostIP: '10.0.0.5',
      podIP: '10.244.1.7',
      podIPs: [{ ip: '10.244.1.7' }],
      startTime: NOW,
      initContainerStatuses: [],
      containerStatuses: [
        {
          name: 'web',
          state: { running: { startedAt: NOW } },
          lastState: { terminated: { exitCode: 137, reason: 'OOMKilled', finishedAt: NOW } },
          ready: true,
          started: true,
          restartCount: 1,
          image: 'nginx:1.25',
          imageID: 'sha256:abc',
          containerID: 'cri://123',
        },
      ],
      qosClass: 'BestEffort',
    },
    events: [
      {
        type: 'Normal',
        reason: 'Started',
        message: 'Started container web',
        involvedObject: { kind: 'Pod', namespace: 'default', name: 'web', uid: 'u-1' },
        firstTimestamp: NOW,
        lastTimestamp: NOW,
        count: 1,
        source: { component: 'corelet-agent', host: 'node-a' },
      },
    ],
  };
  edit(m);
  return m;
}

/** The problem lines a message is refused with. */
function problems(input: unknown, options?: ParseMessageOptions): string[] {
  try {
    parseMessage(input, options);
  } catch (err) {
    assert.ok(err instanceof MessageError, String(err));
    assert.ok(isKind(err, 'InvalidArgument'));
    return [...err.problems];
  }
  assert.fail(`expected the message to be refused: ${JSON.stringify(input)}`);
}

describe('parseMessage: good messages', () => {
  it('reads register (JSON text, bytes or an object) and round-trips through encodeMessage', () => {
    const m = parseMessage(JSON.stringify(register()), { receiver: 'scheduler' });
    assert.equal(m.type, 'register');
    assert.deepEqual(m, register());
    assert.deepEqual(parseMessage(Buffer.from(JSON.stringify(register()))), m);
    assert.deepEqual(parseMessage(JSON.parse(encodeMessage(m))), m);
  });

  it('fills in defaults for optional lists and the embedded pod', () => {
    const m = parseMessage(register((r) => {
      delete r.labels;
      delete r.pods;
      delete r.podCIDR;
      delete r.system;
      delete r.id;
    }));
    assert.ok(m.type === 'register');
    assert.deepEqual(m.labels, {});
    assert.deepEqual(m.pods, []);
    assert.equal('podCIDR' in m, false);

    const a = parseMessage({ v: 1, type: 'assign', pod: pod() }, { receiver: 'agent' });
    assert.ok(a.type === 'assign');
    assert.equal(a.pod.metadata.uid, '7b0c2f4e-0000-4000-8000-000000000001');
    assert.equal(a.pod.spec.restartPolicy, 'Always', 'the pod decoder defaulted it');
    assert.equal(a.pod.spec.containers[0].imagePullPolicy, 'IfNotPresent');
    assert.equal(a.pod.spec.nodeName, 'node-a');
  });

  it('reads every other type', () => {
    const cases: Json[] = [
      { v: 1, type: 'registered', nodeName: 'node-a', podCIDR: '10.244.1.0/24', heartbeatIntervalSeconds: 10 },
      { v: 1, type: 'heartbeat', time: NOW, conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: NOW }, { type: 'MemoryPressure', status: 'False' }] },
      { v: 1, type: 'unassign', uid: 'u-1', gracePeriodSeconds: 0, reason: 'deleted' },
      { v: 1, type: 'assignDone', uids: ['u-1', 'u-2'] },
      { v: 1, type: 'assignDone', uids: [] },
      podStatus(),
      { v: 1, type: 'podTerminated', uid: 'u-1' },
      {
        v: 1,
        type: 'nodeStatus',
        capacity: { cpu: '4', memory: '8Gi', pods: '110' },
        allocatable: { cpu: '4', memory: '7Gi', pods: '110' },
        conditions: [{ type: 'DiskPressure', status: 'Unknown', reason: 'NoStats' }],
        addresses: [{ type: 'InternalIP', address: 'fd00::5' }],
      },
      { v: 1, type: 'error', code: 'NotRegistered', message: 'send register first', replyTo: 'h7' },
    ];
    for (const c of cases) assert.deepEqual(parseMessage(JSON.stringify(c)), c, c.type);
  });

  it('builds error replies', () => {
    const e = errorMessage('InvalidMessage', 'bad', 'x1');
    assert.deepEqual(parseMessage(encodeMessage(e)), { v: 1, type: 'error', code: 'InvalidMessage', message: 'bad', replyTo: 'x1' });
    assert.equal('replyTo' in errorMessage('Internal', 'oops'), false);
  });
});

describe('parseMessage: refused messages', () => {
  it('names the missing field of an embedded pod by its full path', () => {
    assert.deepEqual(problems({ v: 1, type: 'assign', pod: pod((p) => delete p.metadata.name) }), ['message.assign.pod.metadata.name: required value']);
    assert.deepEqual(problems({ v: 1, type: 'assign', pod: pod((p) => delete p.metadata.uid) }), ['message.assign.pod.metadata.uid: required value']);
    // an assigned pod's uid becomes a folder name on the node: a path is refused before it gets there
    assert.deepEqual(problems({ v: 1, type: 'assign', pod: pod((p) => (p.metadata.uid = '../../../..')) }), [
      'message.assign.pod.metadata.uid: invalid value "../../../..": must consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an alphanumeric character (a UUID)',
    ]);
    assert.deepEqual(problems({ v: 1, type: 'assign', pod: pod((p) => (p.spec.containers[0].image = 7)) }), [
      'message.assign.pod.spec.containers[0].image: expected string, got number 7 (quote it)',
    ]);
    assert.deepEqual(problems({ v: 1, type: 'assign', pod: pod((p) => (p.kind = 'List')) }), ['message.assign.pod.kind: must be "Pod", got string "List"']);
    assert.deepEqual(problems({ v: 1, type: 'assign' }), ['message.assign.pod: required value']);
  });

  it('refuses other versions, saying which one it speaks', () => {
    assert.throws(
      () => parseMessage({ v: 2, type: 'heartbeat' }, { receiver: 'scheduler' }),
      (e: Error) => e instanceof MessageError && e.code === 'UnsupportedVersion' && e.message === 'unsupported message version 2; this scheduler speaks 1',
    );
    assert.deepEqual(problems({ v: 2, type: 'registered' }, { receiver: 'agent' }), ['unsupported message version 2; this agent speaks 1']);
    assert.deepEqual(problems({ v: '1', type: 'heartbeat' }), ['unsupported message version string "1"; this peer speaks 1']);
    assert.deepEqual(problems({ type: 'heartbeat' }), ['message.v: required value (the protocol version)']);
  });

  it('refuses unknown and missing types, and types that go the other way', () => {
    assert.deepEqual(problems({ v: 1, type: 'hello' }), [
      'message.type: unsupported value "hello" (supported: register, registered, heartbeat, assign, assignDone, unassign, podStatus, podTerminated, nodeStatus, peers, services, logsRequest, logsData, logsEnd, logsCancel, execRequest, execResult, error)',
    ]);
    assert.deepEqual(problems({ v: 1 }), ['message.type: required value']);
    assert.deepEqual(problems({ v: 1, type: 'assign', pod: pod() }, { receiver: 'scheduler' }), [
      'message.type: assign goes from scheduler to agent; this scheduler does not accept it',
    ]);
    assert.deepEqual(problems(register(), { receiver: 'agent' }), ['message.type: register goes from agent to scheduler; this agent does not accept it']);
  });

  it('refuses what is not a JSON object, and oversized input', () => {
    assert.match(problems('{"v":1,')[0], /^message is not JSON: /);
    assert.deepEqual(problems('[1,2]'), ['message: expected a mapping, got list']);
    assert.deepEqual(problems(null), ['message: expected a mapping, got null']);
    assert.match(problems('x'.repeat(MAX_MESSAGE_BYTES + 1))[0], /^message too large: \d+ bytes/);
  });

  it('treats unknown fields as errors', () => {
    assert.deepEqual(problems({ v: 1, type: 'heartbeat', time: NOW, conditions: [], extra: true }), ['message.heartbeat.extra: unknown field']);
    assert.deepEqual(problems({ v: 1, type: 'assign', pod: pod((p) => (p.spec.containers[0].imagePullPolcy = 'Always')) }), [
      'message.assign.pod.spec.containers[0].imagePullPolcy: unknown field',
    ]);
  });

  it('checks register fields: name, resources, addresses, CIDR, runtime, pods', () => {
    const name = problems(register((r) => (r.nodeName = 'Node_A')));
    assert.equal(name.length, 1);
    assert.match(name[0], /^message\.register\.nodeName: invalid value "Node_A": /);
    assert.deepEqual(problems(register((r) => delete r.capacity.cpu)), ['message.register.capacity.cpu: required value']);
    // The agent's HTTPS port (exec, attach and port-forward are relayed there).
    assert.equal((parseMessage(register((r) => (r.agentPort = 10250))) as { agentPort?: number }).agentPort, 10250);
    assert.equal(problems(register((r) => (r.agentPort = 70000))).length, 1);
    assert.match(problems(register((r) => (r.agentPort = 70000)))[0]!, /^message\.register\.agentPort: /);
    assert.deepEqual(problems(register((r) => (r.allocatable.memory = 'lots'))), [
      'message.register.allocatable.memory: invalid quantity "lots" (examples: "2", "500m", "8Gi")',
    ]);
    assert.deepEqual(problems(register((r) => (r.allocatable.cpu = '-1'))), ['message.register.allocatable.cpu: invalid value "-1": must not be negative']);
    assert.deepEqual(problems(register((r) => (r.addresses[0].address = '10.0.0'))), [
      'message.register.addresses[0].address: invalid value "10.0.0": must be a valid IP address',
    ]);
    assert.deepEqual(problems(register((r) => (r.addresses[1].type = 'LAN'))), [
      'message.register.addresses[1].type: unsupported value "LAN" (supported: InternalIP, ExternalIP, Hostname, InternalDNS, ExternalDNS)',
    ]);
    assert.deepEqual(problems(register((r) => (r.podCIDR = '10.244.1.0/33'))), [
      'message.register.podCIDR: invalid value "10.244.1.0/33": must be a CIDR such as 10.244.1.0/24',
    ]);
    assert.deepEqual(problems(register((r) => delete r.runtime.version)), ['message.register.runtime.version: required value']);
    assert.deepEqual(problems(register((r) => (r.pods = [{ uid: 'u-1', phase: 'Sleeping' }, null]))), [
      'message.register.pods[0].phase: unsupported value "Sleeping" (supported: Pending, Running, Succeeded, Failed, Unknown)',
      'message.register.pods[1]: expected a mapping, got null',
    ]);
    assert.match(problems(register((r) => (r.labels = { 'bad key!': 'x' })))[0], /^message\.register\.labels: invalid key "bad key!"/);
  });

  it('reports every problem at once', () => {
    const p = problems(register((r) => {
      delete r.nodeName;
      r.capacity = 'lots';
      r.runtime = null;
    }));
    assert.deepEqual(p, [
      'message.register.nodeName: required value',
      'message.register.capacity: expected mapping, got string "lots"',
      'message.register.runtime: required value',
    ]);
  });

  it('checks heartbeat, registered, unassign, assignDone and error fields', () => {
    assert.deepEqual(problems({ v: 1, type: 'heartbeat', time: 'yesterday', conditions: [] }), [
      'message.heartbeat.time: invalid value "yesterday": must be an RFC 3339 time such as 2026-01-02T15:04:05Z',
    ]);
    assert.deepEqual(problems({ v: 1, type: 'heartbeat', time: NOW, conditions: [{ type: 'Ready', status: 'True' }, { type: 'Ready', status: 'False' }] }), [
      'message.heartbeat.conditions[1].type: duplicate value "Ready"',
    ]);
    assert.deepEqual(problems({ v: 1, type: 'registered', nodeName: 'node-a', heartbeatIntervalSeconds: 0 }), [
      'message.registered.heartbeatIntervalSeconds: must be between 1 and 3600, inclusive',
    ]);
    assert.deepEqual(problems({ v: 1, type: 'unassign', gracePeriodSeconds: -1 }), [
      'message.unassign.uid: required value',
      'message.unassign.gracePeriodSeconds: must be between 0 and 9223372036, inclusive',
    ]);
    assert.deepEqual(problems({ v: 1, type: 'assignDone' }), ['message.assignDone.uids: required value']);
    assert.deepEqual(problems({ v: 1, type: 'assignDone', uids: ['u-1', 7, ''], extra: 1 }), [
      'message.assignDone.uids[1]: expected string, got number 7 (quote it)',
      'message.assignDone.uids[2]: required value',
      'message.assignDone.extra: unknown field',
    ]);
    assert.match(problems({ v: 1, type: 'assignDone', uids: [] }, { receiver: 'scheduler' })[0], /assignDone goes from scheduler to agent/);
    assert.match(problems({ v: 1, type: 'error', code: 'Oops', message: 'x' })[0], /^message\.error\.code: unsupported value "Oops"/);
    assert.deepEqual(problems({ v: 1, type: 'error', code: 'Internal', message: 'x', id: '' }), ['message.error.id: must be 1 to 128 characters']);
  });

  it('checks pod status and events', () => {
    assert.deepEqual(problems(podStatus((m) => (m.status.phase = 'Sleeping'))), [
      'message.podStatus.status.phase: unsupported value "Sleeping" (supported: Pending, Running, Succeeded, Failed, Unknown)',
    ]);
    assert.deepEqual(problems(podStatus((m) => (m.status.containerStatuses[0].state.waiting = { reason: 'CrashLoopBackOff' }))), [
      'message.podStatus.status.containerStatuses[0].state: at most one of waiting, running, terminated may be set, got waiting, running',
    ]);
    assert.deepEqual(problems(podStatus((m) => delete m.status.containerStatuses[0].restartCount)), [
      'message.podStatus.status.containerStatuses[0].restartCount: required value',
    ]);
    assert.deepEqual(problems(podStatus((m) => (m.status.podIP = 'nope'))), ['message.podStatus.status.podIP: invalid value "nope": must be a valid IP address']);
    assert.deepEqual(problems(podStatus((m) => delete m.events[0].involvedObject)), ['message.podStatus.events[0].involvedObject: required value']);
    assert.deepEqual(problems(podStatus((m) => delete m.status)), ['message.podStatus.status: required value', 'message.podStatus.status.phase: required value']);
  });
});

describe('encodeMessage', () => {
  it('writes compact JSON', () => {
    const m: Message = { v: 1, type: 'unassign', uid: 'u-1' };
    assert.equal(encodeMessage(m), '{"v":1,"type":"unassign","uid":"u-1"}');
  });
  it('refuses a message it could not send', () => {
    assert.throws(() => encodeMessage({ v: 2, type: 'unassign', uid: 'x' } as unknown as Message), /needs v 1 and a known type/);
    const huge: Message = { v: 1, type: 'error', code: 'Internal', message: 'x'.repeat(MAX_MESSAGE_BYTES) };
    assert.throws(() => encodeMessage(huge), /message\.error: too large to send/);
  });
});
