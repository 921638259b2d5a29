import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManifestError, decodePods, defaultPullPolicy, staticPodUid, type Pod } from '../../../src/api/index.js';
import { CoreletError } from '../../../src/lib/index.js';

type Json = Record<string, any>;

/** A valid minimal pod manifest as a plain object, changed by `edit`, written as JSON (which is YAML). */
function manifest(edit: (m: Json) => void = () => {}): string {
  const m: Json = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'zeus' },
    spec: { containers: [{ name: 'web', image: 'nginx:1.25' }] },
  };
  edit(m);
  return JSON.stringify(m);
}

function decodeOne(text: string, source = 'zeus.yaml'): Pod {
  const { pods } = decodePods(text, source);
  assert.equal(pods.length, 1);
  return pods[0];
}

/** The problem lines a manifest is rejected with. */
function problemsOf(text: string, source = 'zeus.yaml'): string[] {
  try {
    decodePods(text, source);
  } catch (err) {
    assert.ok(err instanceof ManifestError, String(err));
    assert.ok(err instanceof CoreletError);
    assert.equal(err.kind, 'InvalidArgument');
    return [...err.problems];
  }
  assert.fail('expected the manifest to be rejected');
}

const c0 = (m: Json) => m.spec.containers[0];

describe('decodePods: documents', () => {
  it('reads several YAML documents, skipping empty ones', () => {
    const text = `---
apiVersion: v1
kind: Pod
metadata: {name: a}
spec:
  containers: [{name: c, image: busybox}]
---
# nothing here
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: team}
spec:
  containers: [{name: c, image: busybox}]
---
`;
    const { pods, warnings } = decodePods(text, 'two.yaml');
    assert.deepEqual(
      pods.map((p) => `${p.metadata.namespace}/${p.metadata.name}`),
      ['default/a', 'team/b'],
    );
    assert.deepEqual(warnings, []);
  });

  it('reads JSON', () => {
    const pod = decodeOne('{"apiVersion":"v1","kind":"Pod","metadata":{"name":"j"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}');
    assert.equal(pod.metadata.name, 'j');
  });

  it('reads a v1 List of pods and names item paths in errors', () => {
    const list = (items: unknown[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
    const good = JSON.parse(manifest());
    const other = JSON.parse(manifest((m) => (m.metadata.name = 'hera')));
    assert.deepEqual(
      decodePods(list([good, other]), 'l.json').pods.map((p) => p.metadata.name),
      ['zeus', 'hera'],
    );
    assert.deepEqual(problemsOf(list([good, { ...other, kind: 'Service' }]), 'l.json'), [
      'l.json: items[1].kind: unsupported value "Service" (supported: Pod)',
    ]);
    assert.deepEqual(problemsOf(list([JSON.parse(manifest((m) => delete c0(m).image))]), 'l.json'), [
      'l.json: items[0].spec.containers[0].image: required value',
    ]);
  });

  it('returns nothing for an empty file', () => {
    assert.deepEqual(decodePods('', 'empty.yaml'), { pods: [], warnings: [] });
    assert.deepEqual(decodePods('# just a comment\n', 'empty.yaml'), { pods: [], warnings: [] });
  });

  it('rejects other kinds and API versions', () => {
    assert.deepEqual(problemsOf(manifest((m) => (m.kind = 'Deployment'))), [
      'zeus.yaml: kind: unsupported value "Deployment" (supported: Pod, List)',
    ]);
    assert.deepEqual(problemsOf(manifest((m) => (m.apiVersion = 'apps/v1'))), [
      'zeus.yaml: apiVersion: unsupported value "apps/v1" (supported: v1)',
    ]);
    assert.deepEqual(problemsOf(manifest((m) => delete m.kind)), ['zeus.yaml: kind: required value']);
    assert.deepEqual(problemsOf('just words'), ['zeus.yaml: expected a mapping with apiVersion and kind, got string "just words"']);
  });

  it('reports YAML syntax errors with their position', () => {
    const problems = problemsOf('apiVersion: v1\nkind: Pod\nkind: Pod\n');
    assert.equal(problems.length, 1);
    assert.match(problems[0], /^zeus\.yaml: Map keys must be unique at line 3, column 1$/);
    assert.match(problemsOf('a: [1\n')[0], /^zeus\.yaml: .* at line \d+, column \d+$/);
  });

  it('collects every error of every document into one InvalidArgument, naming the document', () => {
    const bad1 = manifest((m) => {
      m.metadata.name = 'Zeus';
      c0(m).image = '';
      c0(m).ports = [{ containerPort: 0 }];
    });
    const bad2 = manifest((m) => (m.spec.restartPolicy = 'Sometimes'));
    const text = `${bad1}\n---\n${manifest((m) => (m.metadata.name = 'ok'))}\n---\n${bad2}\n`;
    let err: unknown;
    try {
      decodePods(text, 'many.yaml');
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof ManifestError);
    assert.deepEqual(err.problems, [
      'many.yaml (document 1): metadata.name: invalid value "Zeus": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \'-\' or \'.\', and must start and end with an alphanumeric character',
      'many.yaml (document 1): spec.containers[0].image: required value',
      'many.yaml (document 1): spec.containers[0].ports[0].containerPort: must be between 1 and 65535, inclusive',
      'many.yaml (document 3): spec.restartPolicy: unsupported value "Sometimes" (supported: Always, OnFailure, Never)',
    ]);
    assert.equal(err.message, err.problems.join('\n'));
  });

  it('rejects the same pod twice in one source', () => {
    assert.deepEqual(problemsOf(`${manifest()}\n---\n${manifest()}`), [
      'zeus.yaml (document 2): metadata.name: duplicate pod "default/zeus" in this source',
    ]);
  });
});

describe('decodePods: defaults', () => {
  it('fills in what the API server would', () => {
    const pod = decodeOne(manifest());
    assert.deepEqual(pod, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'zeus', namespace: 'default', uid: staticPodUid('zeus.yaml', 'default', 'zeus'), labels: {}, annotations: {} },
      spec: {
        containers: [
          {
            name: 'web',
            image: 'nginx:1.25',
            imagePullPolicy: 'IfNotPresent',
            env: [],
            ports: [],
            resources: { requests: {}, limits: {} },
            volumeMounts: [],
          },
        ],
        initContainers: [],
        restartPolicy: 'Always',
        terminationGracePeriodSeconds: 30,
        hostNetwork: false,
        shareProcessNamespace: false,
        dnsPolicy: 'ClusterFirst',
        volumes: [],
        nodeSelector: {},
        tolerations: [],
      },
    });
  });

  it('defaults probes, httpGet path and scheme, and port protocol', () => {
    const pod = decodeOne(
      manifest((m) => {
        c0(m).ports = [{ containerPort: 8080, name: 'http' }];
        c0(m).livenessProbe = { httpGet: { port: 'http' }, timeoutSeconds: 0 };
        c0(m).readinessProbe = { tcpSocket: { port: 8080 }, periodSeconds: 5, successThreshold: 2 };
        c0(m).startupProbe = { exec: { command: ['true'] }, failureThreshold: 30 };
      }),
    );
    const c = pod.spec.containers[0];
    assert.deepEqual(c.ports, [{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    const timings = { initialDelaySeconds: 0, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 };
    assert.deepEqual(c.livenessProbe, { httpGet: { path: '/', port: 'http', scheme: 'HTTP' }, ...timings });
    assert.deepEqual(c.readinessProbe, { tcpSocket: { port: 8080 }, ...timings, periodSeconds: 5, successThreshold: 2 });
    assert.deepEqual(c.startupProbe, { exec: { command: ['true'] }, ...timings, failureThreshold: 30 });
  });

  it('defaults imagePullPolicy from the tag', () => {
    const cases: [string, string][] = [
      ['nginx', 'Always'],
      ['nginx:latest', 'Always'],
      ['nginx:1.25', 'IfNotPresent'],
      ['localhost:5000/nginx', 'Always'],
      ['localhost:5000/nginx:1', 'IfNotPresent'],
      ['nginx@sha256:0123', 'IfNotPresent'],
      ['nginx:latest@sha256:0123', 'Always'],
    ];
    for (const [image, want] of cases) {
      assert.equal(defaultPullPolicy(image), want, image);
      assert.equal(decodeOne(manifest((m) => (c0(m).image = image))).spec.containers[0].imagePullPolicy, want, image);
    }
    assert.equal(decodeOne(manifest((m) => (c0(m).imagePullPolicy = 'Never'))).spec.containers[0].imagePullPolicy, 'Never');
  });

  it('defaults requests to limits and keeps quantities as written', () => {
    const text = `apiVersion: v1
kind: Pod
metadata: {name: zeus}
spec:
  containers:
  - name: web
    image: nginx
    resources:
      limits: {cpu: 2, memory: " 128Mi "}
      requests: {cpu: 0.5}
`;
    assert.deepEqual(decodeOne(text).spec.containers[0].resources, {
      requests: { cpu: '0.5', memory: '128Mi' },
      limits: { cpu: '2', memory: '128Mi' },
    });
  });

  it('accepts quantities written as bare YAML numbers, including exponents', () => {
    const text = `apiVersion: v1
kind: Pod
metadata: {name: zeus}
spec:
  containers:
  - {name: web, image: nginx, resources: {requests: {cpu: 0.1, memory: 1e3}, limits: {memory: 12345678901234567}}}
`;
    assert.deepEqual(decodeOne(text).spec.containers[0].resources.requests, { cpu: '0.1', memory: '1000' });
    assert.equal(decodeOne(text).spec.containers[0].resources.limits.memory, '12345678901234567');
  });

  it('gives host-network pods host ports equal to their container ports', () => {
    const pod = decodeOne(
      manifest((m) => {
        m.spec.hostNetwork = true;
        c0(m).ports = [{ containerPort: 80 }, { containerPort: 53, hostPort: 53, protocol: 'UDP' }];
      }),
    );
    assert.deepEqual(pod.spec.containers[0].ports, [
      { containerPort: 80, hostPort: 80, protocol: 'TCP' },
      { containerPort: 53, hostPort: 53, protocol: 'UDP' },
    ]);
  });

  it('treats null as absent, as Kubernetes does', () => {
    const pod = decodeOne(
      manifest((m) => {
        m.metadata.creationTimestamp = null;
        m.metadata.labels = null;
        m.spec.volumes = null;
        c0(m).resources = { limits: null };
      }),
    );
    assert.deepEqual(pod.metadata.labels, {});
    assert.equal('creationTimestamp' in pod.metadata, false);
    assert.deepEqual(pod.spec.volumes, []);
  });

  it('keeps a full, valid spec', () => {
    const pod = decodeOne(
      manifest((m) => {
        m.metadata = { name: 'full', namespace: 'ops', uid: 'given-uid', labels: { 'app.kubernetes.io/name': 'web', tier: '' }, annotations: { 'Example.com/Note': 'any text' } };
        m.spec.initContainers = [{ name: 'init', image: 'busybox', command: ['sh', '-c', 'true'] }];
        m.spec.volumes = [
          { name: 'scratch', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
          { name: 'logs', hostPath: { path: '/var/log', type: 'Directory' } },
          { name: 'state', persistentLocal: { claimName: 'db-0' } },
        ];
        m.spec.restartPolicy = 'OnFailure';
        m.spec.dnsPolicy = 'None';
        m.spec.dnsConfig = { nameservers: ['10.0.0.10'], searches: ['svc.local.'], options: [{ name: 'ndots', value: '2' }] };
        m.spec.tolerations = [{ operator: 'Exists' }, { key: 'gpu', operator: 'Equal', value: 'yes', effect: 'NoExecute', tolerationSeconds: 60 }];
        m.spec.securityContext = { runAsUser: 1000, fsGroup: 2000, supplementalGroups: [3000], sysctls: [{ name: 'net.core.somaxconn', value: '1024' }] };
        m.spec.nodeSelector = { 'kubernetes.io/hostname': 'node-1' };
        m.spec.priority = 100;
        Object.assign(c0(m), {
          command: ['nginx'],
          args: ['-g', 'daemon off;'],
          workingDir: '/srv',
          env: [{ name: 'MODE', value: 'prod' }, { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP', apiVersion: 'v1' } } }],
          volumeMounts: [{ name: 'scratch', mountPath: '/tmp' }, { name: 'logs', mountPath: '/logs', readOnly: true, subPath: 'nginx' }],
          lifecycle: { preStop: { sleep: { seconds: 5 } }, postStart: { exec: { command: ['touch', '/ready'] } } },
          securityContext: { runAsNonRoot: true, runAsUser: 101, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } },
          stdin: true,
          tty: true,
        });
      }),
    );
    assert.equal(pod.metadata.uid, 'given-uid');
    assert.deepEqual(pod.spec.volumes[0], { name: 'scratch', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } });
    assert.deepEqual(pod.spec.containers[0].env[1], { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } });
    assert.deepEqual(pod.spec.containers[0].lifecycle, { preStop: { sleep: { seconds: 5 } }, postStart: { exec: { command: ['touch', '/ready'] } } });
    assert.deepEqual(pod.spec.tolerations[1], { key: 'gpu', operator: 'Equal', value: 'yes', effect: 'NoExecute', tolerationSeconds: 60 });
    assert.equal(pod.spec.initContainers[0].imagePullPolicy, 'Always');
    assert.deepEqual(pod.spec.securityContext?.sysctls, [{ name: 'net.core.somaxconn', value: '1024' }]);
  });
});

describe('decodePods: deterministic uid', () => {
  it('derives the same uid from source, namespace and name on every decode', () => {
    const a = decodeOne(manifest(), '/etc/corelet/manifests/zeus.yaml').metadata.uid;
    const b = decodeOne(manifest(), '/etc/corelet/manifests/zeus.yaml').metadata.uid;
    assert.equal(a, b);
    assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual(decodeOne(manifest(), '/etc/corelet/manifests/other.yaml').metadata.uid, a);
    assert.notEqual(decodeOne(manifest((m) => (m.metadata.namespace = 'team')), '/etc/corelet/manifests/zeus.yaml').metadata.uid, a);
    assert.notEqual(decodeOne(manifest((m) => (m.metadata.name = 'hera')), '/etc/corelet/manifests/zeus.yaml').metadata.uid, a);
  });
});

describe('decodePods: unknown fields', () => {
  it('warns about each unknown field path at any depth and still decodes', () => {
    const { pods, warnings } = decodePods(
      manifest((m) => {
        m.status = { phase: 'Running' };
        m.extra = 1;
        m.metadata.finalizers = ['zeus'];
        m.spec.affinity = {};
        m.spec.volumes = [{ name: 'v', emptyDir: { sizeLimt: '1Gi' } }];
        c0(m).resourcez = { limits: { cpu: '1' } };
        c0(m).resources = { claims: [] };
        c0(m).readinessProbe = { exec: { command: ['true'], shell: true }, grpc: null };
        c0(m).securityContext = { seLinuxOptions: { type: 'container_t' } };
        c0(m).ports = [{ containerPort: 80, appProtocol: 'http' }];
      }),
      'zeus.yaml',
    );
    assert.equal(pods.length, 1);
    assert.deepEqual(warnings, [
      'zeus.yaml: extra: unknown field',
      'zeus.yaml: metadata.finalizers: unknown field',
      'zeus.yaml: spec.affinity: unknown field',
      'zeus.yaml: spec.volumes[0].emptyDir.sizeLimt: unknown field',
      'zeus.yaml: spec.containers[0].resourcez: unknown field',
      'zeus.yaml: spec.containers[0].ports[0].appProtocol: unknown field',
      'zeus.yaml: spec.containers[0].resources.claims: unknown field',
      'zeus.yaml: spec.containers[0].readinessProbe.grpc: unknown field',
      'zeus.yaml: spec.containers[0].readinessProbe.exec.shell: unknown field',
      'zeus.yaml: spec.containers[0].securityContext.seLinuxOptions: unknown field',
    ]);
  });

  it('lists warnings after the errors when the manifest is rejected (a typo often explains an error)', () => {
    let err: unknown;
    try {
      decodePods(manifest((m) => ((m.spec.contaners = m.spec.containers), delete m.spec.containers)), 'zeus.yaml');
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof ManifestError);
    assert.deepEqual(err.problems, ['zeus.yaml: spec.containers: required value']);
    assert.deepEqual(err.warnings, ['zeus.yaml: spec.contaners: unknown field']);
    assert.equal(err.message, 'zeus.yaml: spec.containers: required value\nzeus.yaml: spec.contaners: unknown field');
  });
});

describe('decodePods: validation', () => {
  const cases: [string, (m: Json) => void, string][] = [
    ['pod name missing', (m) => delete m.metadata.name, 'metadata.name: required value'],
    ['pod name not a subdomain', (m) => (m.metadata.name = 'Zeus_1'), 'metadata.name: invalid value "Zeus_1": a lowercase RFC 1123 subdomain'],
    ['namespace not a label', (m) => (m.metadata.namespace = 'a.b'), 'metadata.namespace: invalid value "a.b": a lowercase RFC 1123 label'],
    ['label key', (m) => (m.metadata.labels = { 'bad key': 'x' }), 'metadata.labels: invalid key "bad key": name part must consist of'],
    ['label value', (m) => (m.metadata.labels = { app: 'has space' }), 'metadata.labels.app: invalid value "has space": a valid label must'],
    ['label value type', (m) => (m.metadata.labels = { replicas: 3 }), 'metadata.labels.replicas: expected string, got number 3 (quote it)'],
    ['metadata missing', (m) => delete m.metadata, 'metadata: required value'],
    ['spec missing', (m) => delete m.spec, 'spec: required value'],
    ['no containers', (m) => (m.spec.containers = []), 'spec.containers: required value'],
    ['containers not a list', (m) => (m.spec.containers = { name: 'web' }), 'spec.containers: expected list, got mapping'],
    ['container name', (m) => (c0(m).name = 'Web_1'), 'spec.containers[0].name: invalid value "Web_1": a lowercase RFC 1123 label'],
    ['container name too long', (m) => (c0(m).name = 'a'.repeat(64)), 'spec.containers[0].name: invalid value "aaaa'],
    ['container name missing', (m) => delete c0(m).name, 'spec.containers[0].name: required value'],
    ['duplicate container names across init and app', (m) => (m.spec.initContainers = [{ name: 'web', image: 'busybox' }]), 'spec.containers[0].name: duplicate value "web"'],
    ['image missing', (m) => delete c0(m).image, 'spec.containers[0].image: required value'],
    ['image whitespace', (m) => (c0(m).image = ' nginx'), 'spec.containers[0].image: must not have leading or trailing whitespace'],
    ['imagePullPolicy', (m) => (c0(m).imagePullPolicy = 'Sometimes'), 'spec.containers[0].imagePullPolicy: unsupported value "Sometimes" (supported: Always, IfNotPresent, Never)'],
    ['command items', (m) => (c0(m).args = ['--port', 80]), 'spec.containers[0].args[1]: expected string, got number 80 (quote it)'],
    ['containerPort 0', (m) => (c0(m).ports = [{ containerPort: 0 }]), 'spec.containers[0].ports[0].containerPort: must be between 1 and 65535, inclusive'],
    ['containerPort too big', (m) => (c0(m).ports = [{ containerPort: 65536 }]), 'spec.containers[0].ports[0].containerPort: must be between 1 and 65535, inclusive'],
    ['containerPort missing', (m) => (c0(m).ports = [{ name: 'http' }]), 'spec.containers[0].ports[0].containerPort: required value'],
    ['containerPort as string', (m) => (c0(m).ports = [{ containerPort: '80' }]), 'spec.containers[0].ports[0].containerPort: expected integer, got string "80"'],
    ['hostPort range', (m) => (c0(m).ports = [{ containerPort: 80, hostPort: 70000 }]), 'spec.containers[0].ports[0].hostPort: must be between 0 and 65535, inclusive'],
    ['port protocol', (m) => (c0(m).ports = [{ containerPort: 80, protocol: 'tcp' }]), 'spec.containers[0].ports[0].protocol: unsupported value "tcp" (supported: TCP, UDP, SCTP)'],
    ['port name', (m) => (c0(m).ports = [{ containerPort: 80, name: 'HTTP' }]), 'spec.containers[0].ports[0].name: invalid value "HTTP": must contain only'],
    ['duplicate port name', (m) => (c0(m).ports = [{ containerPort: 80, name: 'web' }, { containerPort: 81, name: 'web' }]), 'spec.containers[0].ports[1].name: duplicate value "web"'],
    ['hostIP', (m) => (c0(m).ports = [{ containerPort: 80, hostIP: 'localhost' }]), 'spec.containers[0].ports[0].hostIP: invalid value "localhost": must be a valid IP address'],
    [
      'host port used twice',
      (m) => {
        c0(m).ports = [{ containerPort: 80, hostPort: 8080 }];
        m.spec.containers.push({ name: 'b', image: 'nginx', ports: [{ containerPort: 81, hostPort: 8080 }] });
      },
      'spec.containers[1].ports[0].hostPort: duplicate value "8080/TCP"',
    ],
    [
      'host network port mismatch',
      (m) => ((m.spec.hostNetwork = true), (c0(m).ports = [{ containerPort: 80, hostPort: 8080 }])),
      'spec.containers[0].ports[0].hostPort: must match containerPort when hostNetwork is true',
    ],
    ['probe with two handlers', (m) => (c0(m).livenessProbe = { exec: { command: ['true'] }, tcpSocket: { port: 80 } }), 'spec.containers[0].livenessProbe: may not specify more than one handler type (got exec, tcpSocket)'],
    ['probe without handler', (m) => (c0(m).readinessProbe = { periodSeconds: 3 }), 'spec.containers[0].readinessProbe: must specify a handler type (one of exec, httpGet, tcpSocket)'],
    ['probe exec without command', (m) => (c0(m).livenessProbe = { exec: {} }), 'spec.containers[0].livenessProbe.exec.command: required value'],
    ['probe port zero', (m) => (c0(m).livenessProbe = { httpGet: { port: 0 } }), 'spec.containers[0].livenessProbe.httpGet.port: must be between 1 and 65535, inclusive'],
    ['probe port missing', (m) => (c0(m).livenessProbe = { tcpSocket: {} }), 'spec.containers[0].livenessProbe.tcpSocket.port: required value'],
    ['probe port name', (m) => (c0(m).livenessProbe = { httpGet: { port: '8080' } }), 'spec.containers[0].livenessProbe.httpGet.port: invalid value "8080": must contain at least one letter (a-z)'],
    ['probe scheme', (m) => (c0(m).livenessProbe = { httpGet: { port: 80, scheme: 'FTP' } }), 'spec.containers[0].livenessProbe.httpGet.scheme: unsupported value "FTP" (supported: HTTP, HTTPS)'],
    ['probe header name', (m) => (c0(m).livenessProbe = { httpGet: { port: 80, httpHeaders: [{ name: 'X Y', value: '1' }] } }), 'spec.containers[0].livenessProbe.httpGet.httpHeaders[0].name: invalid value "X Y": must be a valid HTTP header name'],
    ['probe negative timing', (m) => (c0(m).livenessProbe = { tcpSocket: { port: 80 }, periodSeconds: -1 }), 'spec.containers[0].livenessProbe.periodSeconds: must be greater than or equal to 0'],
    ['probe timing too big', (m) => (c0(m).livenessProbe = { tcpSocket: { port: 80 }, periodSeconds: 1e20 }), 'spec.containers[0].livenessProbe.periodSeconds: must be less than or equal to 9007199254740991'],
    ['liveness successThreshold', (m) => (c0(m).livenessProbe = { tcpSocket: { port: 80 }, successThreshold: 2 }), 'spec.containers[0].livenessProbe.successThreshold: must be 1 for liveness probes'],
    ['readiness grace period', (m) => (c0(m).readinessProbe = { tcpSocket: { port: 80 }, terminationGracePeriodSeconds: 5 }), 'spec.containers[0].readinessProbe.terminationGracePeriodSeconds: may not be set for readiness probes'],
    ['probe on init container', (m) => (m.spec.initContainers = [{ name: 'init', image: 'busybox', livenessProbe: { tcpSocket: { port: 80 } } }]), 'spec.initContainers[0].livenessProbe: may not be set for init containers'],
    ['lifecycle handler', (m) => (c0(m).lifecycle = { preStop: {} }), 'spec.containers[0].lifecycle.preStop: must specify a handler type (one of exec, httpGet, tcpSocket, sleep)'],
    ['volumeMount of an undeclared volume', (m) => (c0(m).volumeMounts = [{ name: 'data', mountPath: '/data' }]), 'spec.containers[0].volumeMounts[0].name: not found: no volume named "data" in spec.volumes'],
    ['volumeMount path', (m) => ((m.spec.volumes = [{ name: 'd', emptyDir: {} }]), (c0(m).volumeMounts = [{ name: 'd', mountPath: 'data' }])), 'spec.containers[0].volumeMounts[0].mountPath: invalid value "data": must be an absolute path'],
    ['volumeMount path missing', (m) => ((m.spec.volumes = [{ name: 'd', emptyDir: {} }]), (c0(m).volumeMounts = [{ name: 'd' }])), 'spec.containers[0].volumeMounts[0].mountPath: required value'],
    ['volumeMount subPath escape', (m) => ((m.spec.volumes = [{ name: 'd', emptyDir: {} }]), (c0(m).volumeMounts = [{ name: 'd', mountPath: '/d', subPath: 'a/../../etc' }])), "spec.containers[0].volumeMounts[0].subPath: invalid value \"a/../../etc\": must not contain '..'"],
    ['duplicate mountPath', (m) => ((m.spec.volumes = [{ name: 'd', emptyDir: {} }]), (c0(m).volumeMounts = [{ name: 'd', mountPath: '/d' }, { name: 'd', mountPath: '/d' }])), 'spec.containers[0].volumeMounts[1].mountPath: duplicate value "/d": must be unique'],
    ['volume with two sources', (m) => (m.spec.volumes = [{ name: 'd', emptyDir: {}, hostPath: { path: '/d' } }]), 'spec.volumes[0]: may not specify more than one volume source'],
    ['volume without source', (m) => (m.spec.volumes = [{ name: 'd' }]), 'spec.volumes[0]: must specify a volume source (one of emptyDir, hostPath, persistentLocal)'],
    ['volume name', (m) => (m.spec.volumes = [{ name: 'My_Vol', emptyDir: {} }]), 'spec.volumes[0].name: invalid value "My_Vol": a lowercase RFC 1123 label'],
    ['duplicate volume', (m) => (m.spec.volumes = [{ name: 'd', emptyDir: {} }, { name: 'd', emptyDir: {} }]), 'spec.volumes[1].name: duplicate value "d"'],
    ['hostPath relative', (m) => (m.spec.volumes = [{ name: 'd', hostPath: { path: 'data' } }]), 'spec.volumes[0].hostPath.path: invalid value "data": must be an absolute path'],
    ['hostPath type', (m) => (m.spec.volumes = [{ name: 'd', hostPath: { path: '/data', type: 'Dir' } }]), 'spec.volumes[0].hostPath.type: unsupported value "Dir"'],
    ['emptyDir medium', (m) => (m.spec.volumes = [{ name: 'd', emptyDir: { medium: 'Disk' } }]), 'spec.volumes[0].emptyDir.medium: unsupported value "Disk" (supported: "", Memory)'],
    ['emptyDir sizeLimit', (m) => (m.spec.volumes = [{ name: 'd', emptyDir: { sizeLimit: 'big' } }]), 'spec.volumes[0].emptyDir.sizeLimit: invalid quantity "big"'],
    [
      'bad limit on the second container',
      (m) => m.spec.containers.push({ name: 'side', image: 'busybox', resources: { limits: { cpu: 'lots' } } }),
      'spec.containers[1].resources.limits.cpu: invalid quantity "lots"',
    ],
    ['negative request', (m) => (c0(m).resources = { requests: { memory: '-1' } }), 'spec.containers[0].resources.requests.memory: invalid value "-1": must be greater than or equal to 0'],
    ['request above limit (cpu)', (m) => (c0(m).resources = { requests: { cpu: '2' }, limits: { cpu: '1' } }), 'spec.containers[0].resources.requests.cpu: invalid value "2": must be less than or equal to cpu limit of 1'],
    ['request above limit (memory)', (m) => (c0(m).resources = { requests: { memory: '1Gi' }, limits: { memory: '1G' } }), 'spec.containers[0].resources.requests.memory: invalid value "1Gi": must be less than or equal to memory limit of 1G'],
    ['unknown resource name', (m) => (c0(m).resources = { limits: { cpus: '1' } }), 'spec.containers[0].resources.limits.cpus: unsupported resource name "cpus"'],
    ['extended resource overcommitted', (m) => (c0(m).resources = { requests: { 'example.com/gpu': '1' }, limits: { 'example.com/gpu': '2' } }), 'spec.containers[0].resources.requests[example.com/gpu]: invalid value "1": must be equal to example.com/gpu limit of 2'],
    ['extended resource without limit', (m) => (c0(m).resources = { requests: { 'example.com/gpu': '1' } }), 'spec.containers[0].resources.limits[example.com/gpu]: required value'],
    ['extended resource fraction', (m) => (c0(m).resources = { limits: { 'example.com/gpu': '500m' } }), 'spec.containers[0].resources.limits[example.com/gpu]: invalid value "500m": must be an integer'],
    ['quantity type', (m) => (c0(m).resources = { limits: { cpu: true } }), 'spec.containers[0].resources.limits.cpu: expected a quantity (string or number), got boolean true'],
    ['restartPolicy', (m) => (m.spec.restartPolicy = 'Sometimes'), 'spec.restartPolicy: unsupported value "Sometimes" (supported: Always, OnFailure, Never)'],
    ['dnsPolicy', (m) => (m.spec.dnsPolicy = 'Cluster'), 'spec.dnsPolicy: unsupported value "Cluster" (supported: ClusterFirst, Default, None, ClusterFirstWithHostNet)'],
    ['dnsPolicy None without nameservers', (m) => (m.spec.dnsPolicy = 'None'), 'spec.dnsConfig: must provide at least one DNS nameserver when dnsPolicy is None'],
    ['nameserver', (m) => (m.spec.dnsConfig = { nameservers: ['dns.local'] }), 'spec.dnsConfig.nameservers[0]: invalid value "dns.local": must be a valid IP address'],
    ['grace period', (m) => (m.spec.terminationGracePeriodSeconds = -1), 'spec.terminationGracePeriodSeconds: must be between 0 and 9223372036, inclusive'],
    // Beyond what a deletion date (or Kubernetes' time.Duration) can hold: refused, not a crash later.
    ['grace period too large', (m) => (m.spec.terminationGracePeriodSeconds = 9007199254740991), 'spec.terminationGracePeriodSeconds: must be between 0 and 9223372036, inclusive'],
    ['deletion grace period too large', (m) => (m.metadata.deletionGracePeriodSeconds = 9007199254740991), 'metadata.deletionGracePeriodSeconds: must be between 0 and 9223372036, inclusive'],
    ['hostNetwork type', (m) => (m.spec.hostNetwork = 'true'), 'spec.hostNetwork: expected boolean, got string "true"'],
    ['nodeName', (m) => (m.spec.nodeName = 'Node_1'), 'spec.nodeName: invalid value "Node_1"'],
    ['nodeSelector value', (m) => (m.spec.nodeSelector = { disk: 'fast ssd' }), 'spec.nodeSelector.disk: invalid value "fast ssd"'],
    ['fieldRef path', (m) => (c0(m).env = [{ name: 'L', valueFrom: { fieldRef: { fieldPath: 'metadata.labels' } } }]), 'spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: unsupported value "metadata.labels" (supported: metadata.name, metadata.namespace, metadata.uid, status.podIP, spec.nodeName, status.hostIP)'],
    ['valueFrom without a source', (m) => (c0(m).env = [{ name: 'S', valueFrom: {} }]), 'spec.containers[0].env[0].valueFrom: must specify one of: fieldRef'],
    ['value and valueFrom', (m) => (c0(m).env = [{ name: 'N', value: 'x', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }]), 'spec.containers[0].env[0].valueFrom: may not be specified when value is not empty'],
    ['env name', (m) => (c0(m).env = [{ name: 'A=B', value: '1' }]), 'spec.containers[0].env[0].name: invalid value "A=B": must consist of printable ASCII characters except \'=\''],
    ['env name missing', (m) => (c0(m).env = [{ value: '1' }]), 'spec.containers[0].env[0].name: required value'],
    ['env value type', (m) => (c0(m).env = [{ name: 'PORT', value: 8080 }]), 'spec.containers[0].env[0].value: expected string, got number 8080 (quote it)'],
    ['null list item', (m) => (c0(m).env = [null]), 'spec.containers[0].env[0]: expected a mapping, got null'],
    ['runAsUser type', (m) => (c0(m).securityContext = { runAsUser: 'root' }), 'spec.containers[0].securityContext.runAsUser: expected integer, got string "root"'],
    ['runAsUser range', (m) => (c0(m).securityContext = { runAsUser: -1 }), 'spec.containers[0].securityContext.runAsUser: must be between 0 and 2147483647, inclusive'],
    ['privileged type', (m) => (c0(m).securityContext = { privileged: 'yes' }), 'spec.containers[0].securityContext.privileged: expected boolean, got string "yes"'],
    ['capabilities type', (m) => (c0(m).securityContext = { capabilities: { add: 'NET_ADMIN' } }), 'spec.containers[0].securityContext.capabilities.add: expected list, got string "NET_ADMIN"'],
    ['privileged without escalation', (m) => (c0(m).securityContext = { privileged: true, allowPrivilegeEscalation: false }), 'spec.containers[0].securityContext.allowPrivilegeEscalation: cannot set allowPrivilegeEscalation to false and privileged to true'],
    ['pod fsGroup type', (m) => (m.spec.securityContext = { fsGroup: 1.5 }), 'spec.securityContext.fsGroup: expected integer, got number 1.5'],
    ['sysctl name', (m) => (m.spec.securityContext = { sysctls: [{ name: 'Net Core', value: '1' }] }), 'spec.securityContext.sysctls[0].name: invalid value "Net Core": must be a valid sysctl name'],
    ['toleration without key must be Exists', (m) => (m.spec.tolerations = [{ operator: 'Equal', value: 'x' }]), 'spec.tolerations[0].operator: must be Exists when key is empty'],
    ['toleration Exists with value', (m) => (m.spec.tolerations = [{ key: 'k', operator: 'Exists', value: 'x' }]), 'spec.tolerations[0].value: must be empty when operator is Exists'],
    ['tolerationSeconds needs NoExecute', (m) => (m.spec.tolerations = [{ key: 'k', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 5 }]), 'spec.tolerations[0].effect: must be NoExecute when tolerationSeconds is set'],
  ];
  for (const [name, edit, want] of cases) {
    it(name, () => {
      const problems = problemsOf(manifest(edit));
      assert.equal(problems.length, 1, problems.join('\n'));
      assert.ok(problems[0].startsWith(`zeus.yaml: ${want}`), `got: ${problems[0]}\nwant: zeus.yaml: ${want}...`);
    });
  }
});
