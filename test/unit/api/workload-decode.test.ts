import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ManifestError,
  decodeObjects,
  decodePods,
  resolveIntOrPercent,
  selectorMatches,
  withJobSelector,
  type AnyObject,
  type Declared,
  type Deployment,
  type Job,
  type PodSpec,
  type StatefulSet,
} from '../../../src/api/index.js';
import { CoreletError } from '../../../src/lib/index.js';

type Json = Record<string, any>;

const pod = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.25' }] } };

/** A valid minimal manifest of each kind, as plain objects. */
const bases: Record<string, () => Json> = {
  Pod: () => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' }, spec: structuredClone(pod.spec) }),
  Deployment: () => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: { selector: { matchLabels: { app: 'web' } }, template: structuredClone(pod) },
  }),
  StatefulSet: () => ({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db' },
    spec: { selector: { matchLabels: { app: 'web' } }, serviceName: 'db', template: structuredClone(pod) },
  }),
  Job: () => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'migrate' },
    spec: { template: { spec: { ...structuredClone(pod.spec), restartPolicy: 'Never' } } },
  }),
  DaemonSet: () => ({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent' },
    spec: { selector: { matchLabels: { app: 'web' } }, template: structuredClone(pod) },
  }),
};

/** A manifest of kind, changed by `edit`, written as JSON (which is YAML). */
function manifest(kind: string, edit: (m: Json) => void = () => {}): string {
  const m = bases[kind]();
  edit(m);
  return JSON.stringify(m);
}

function decodeOne(text: string, source = 'z.yaml'): AnyObject {
  const { objects } = decodeObjects(text, source);
  assert.equal(objects.length, 1);
  return objects[0];
}

/** The problem lines a manifest is rejected with. */
function problemsOf(text: string, source = 'z.yaml'): string[] {
  try {
    decodeObjects(text, source);
  } catch (err) {
    assert.ok(err instanceof ManifestError, String(err));
    assert.ok(err instanceof CoreletError);
    assert.equal(err.kind, 'InvalidArgument');
    return [...err.problems];
  }
  assert.fail('expected the manifest to be rejected');
}

/** The PodSpec defaults for a template holding one nginx:1.25 container. */
function defaultPodSpec(restartPolicy: PodSpec['restartPolicy'] = 'Always'): PodSpec {
  return {
    containers: [
      { name: 'web', image: 'nginx:1.25', imagePullPolicy: 'IfNotPresent', env: [], ports: [], resources: { requests: {}, limits: {} }, volumeMounts: [] },
    ],
    initContainers: [],
    restartPolicy,
    terminationGracePeriodSeconds: 30,
    hostNetwork: false,
    shareProcessNamespace: false,
    dnsPolicy: 'ClusterFirst',
    volumes: [],
    nodeSelector: {},
    tolerations: [],
  };
}

const meta = (name: string) => ({ name, namespace: 'default', labels: {}, annotations: {} });
const template = (restartPolicy: PodSpec['restartPolicy'] = 'Always', labels: Record<string, string> = { app: 'web' }) => ({
  metadata: { labels, annotations: {} },
  spec: defaultPodSpec(restartPolicy),
});

describe('decodeObjects: defaults', () => {
  it('fills in a Deployment as the API server would', () => {
    assert.deepEqual(decodeOne(manifest('Deployment')), {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta('web'),
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'web' } },
        template: template(),
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
        minReadySeconds: 0,
        revisionHistoryLimit: 10,
        progressDeadlineSeconds: 600,
        paused: false,
      },
    });
  });

  it('fills in a StatefulSet, its claim templates, and lets containers mount claims', () => {
    const obj = decodeOne(
      manifest('StatefulSet', (m) => {
        m.spec.replicas = 3;
        m.spec.volumeClaimTemplates = [{ metadata: { name: 'data' }, spec: { resources: { requests: { storage: '1Gi' } } } }];
        m.spec.template.spec.containers[0].volumeMounts = [{ name: 'data', mountPath: '/var/lib/db' }];
      }),
    );
    assert.equal(obj.kind, 'StatefulSet');
    const { template: t, ...spec } = (obj as Declared<StatefulSet>).spec;
    assert.deepEqual(spec, {
      replicas: 3,
      selector: { matchLabels: { app: 'web' } },
      serviceName: 'db',
      volumeClaimTemplates: [
        {
          metadata: { name: 'data', labels: {}, annotations: {} },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        },
      ],
      podManagementPolicy: 'OrderedReady',
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      revisionHistoryLimit: 10,
      minReadySeconds: 0,
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
    });
    assert.deepEqual(t.spec.containers[0].volumeMounts, [{ name: 'data', mountPath: '/var/lib/db' }]);
  });

  it('fills in a Job, labelling its pods with the job name', () => {
    assert.deepEqual(decodeOne(manifest('Job')), {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: meta('migrate'),
      spec: {
        completions: 1,
        parallelism: 1,
        backoffLimit: 6,
        suspend: false,
        template: template('Never', { 'batch.kubernetes.io/job-name': 'migrate', 'job-name': 'migrate' }),
      },
    });
  });

  it('leaves Job completions unset when only parallelism is given (a work queue), as Kubernetes does', () => {
    const job = decodeOne(manifest('Job', (m) => (m.spec.parallelism = 4))) as Declared<Job>;
    assert.equal(job.spec.parallelism, 4);
    assert.equal('completions' in job.spec, false);
    const fixed = decodeOne(manifest('Job', (m) => ((m.spec.parallelism = 2), (m.spec.completions = 5)))) as Declared<Job>;
    assert.deepEqual([fixed.spec.completions, fixed.spec.parallelism], [5, 2]);
  });

  it('fills in a DaemonSet', () => {
    assert.deepEqual(decodeOne(manifest('DaemonSet')), {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: meta('agent'),
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: template(),
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
        minReadySeconds: 0,
        revisionHistoryLimit: 10,
      },
    });
  });

  it('defaults only the rolling-update fields left out', () => {
    const d = decodeOne(manifest('Deployment', (m) => (m.spec.strategy = { rollingUpdate: { maxSurge: 0 } }))) as Declared<Deployment>;
    assert.deepEqual(d.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: '25%' } });
    const r = decodeOne(manifest('Deployment', (m) => (m.spec.strategy = { type: 'Recreate' }))) as Declared<Deployment>;
    assert.deepEqual(r.spec.strategy, { type: 'Recreate' });
  });

  it('decodes Pods through the Pod decoder, leaving the uid to the store unless given', () => {
    const p = decodeOne(manifest('Pod'));
    assert.equal(p.kind, 'Pod');
    assert.deepEqual(p.metadata, meta('web'));
    assert.deepEqual(p.spec, defaultPodSpec());
    const withUid = decodeOne(manifest('Pod', (m) => (m.metadata.uid = 'u-1')));
    assert.equal(withUid.metadata.uid, 'u-1');
    const d = decodeOne(manifest('Deployment', (m) => (m.metadata = { name: 'web', namespace: 'team', uid: 'u-2' })));
    assert.deepEqual([d.metadata.namespace, d.metadata.uid], ['team', 'u-2']);
    assert.equal('uid' in decodeOne(manifest('Deployment')).metadata, false);
  });

  it('accepts what `kubectl create deployment --dry-run=client -o yaml` writes, without warnings', () => {
    const text = `apiVersion: apps/v1
kind: Deployment
metadata:
  creationTimestamp: null
  labels:
    app: web
  name: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  strategy: {}
  template:
    metadata:
      creationTimestamp: null
      labels:
        app: web
    spec:
      containers:
      - image: nginx:1.25
        name: nginx
        resources: {}
status: {}
`;
    const { objects, warnings } = decodeObjects(text, 'web.yaml');
    assert.deepEqual(warnings, []);
    assert.equal((objects[0] as Declared<Deployment>).spec.replicas, 2);
    assert.equal('status' in objects[0], false);
  });

  it('accepts matchExpressions and checks the template against them', () => {
    const d = decodeOne(
      manifest('Deployment', (m) => {
        m.spec.selector = { matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'api'] }, { key: 'canary', operator: 'DoesNotExist' }] };
      }),
    ) as Declared<Deployment>;
    assert.deepEqual(d.spec.selector, {
      matchLabels: {},
      matchExpressions: [
        { key: 'app', operator: 'In', values: ['web', 'api'] },
        { key: 'canary', operator: 'DoesNotExist' },
      ],
    });
  });
});

describe('decodeObjects: validation', () => {
  const D = 'Deployment';
  const ru = (m: Json, rollingUpdate: Json) => (m.spec.strategy = { type: 'RollingUpdate', rollingUpdate });
  const dsru = (m: Json, rollingUpdate: Json) => (m.spec.updateStrategy = { type: 'RollingUpdate', rollingUpdate });
  const claim = (m: Json, spec: Json, name = 'data') => (m.spec.volumeClaimTemplates = [{ metadata: { name }, spec }]);
  const t = (m: Json) => m.spec.template;
  const LABEL_MSG = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
  const SUBDOMAIN_MSG = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
  const PERCENT_MSG = 'must be an integer or a percentage (e.g. "25%")';

  const cases: [string, string, (m: Json) => void, string[]][] = [
    // [what, kind, edit, problems]
    ['negative replicas', D, (m) => (m.spec.replicas = -1), ['spec.replicas: invalid value -1: must be greater than or equal to 0']],
    ['replicas as a string', D, (m) => (m.spec.replicas = '3'), ['spec.replicas: expected integer, got string "3"']],
    // Scaled to 0, such a template's pods would get a deletion date no clock can say: refused here.
    ['a grace period beyond 9223372036 s', D, (m) => (t(m).spec.terminationGracePeriodSeconds = 9007199254740991), ['spec.template.spec.terminationGracePeriodSeconds: must be between 0 and 9223372036, inclusive']],
    ['a name that is no DNS subdomain', D, (m) => (m.metadata.name = 'Web'), [`metadata.name: invalid value "Web": ${SUBDOMAIN_MSG}`]],
    ['a missing name', D, (m) => delete m.metadata.name, ['metadata.name: required value']],
    ['a missing spec', D, (m) => delete m.spec, ['spec: required value']],
    ['a spec that is no mapping', 'StatefulSet', (m) => (m.spec = 'db'), ['spec: expected mapping, got string "db"']],
    ['a missing selector', D, (m) => delete m.spec.selector, ['spec.selector: required value']],
    ['an empty selector', D, (m) => (m.spec.selector = {}), ['spec.selector: empty selector is invalid for deployment']],
    [
      'a selector the template labels do not match',
      D,
      (m) => (m.spec.selector.matchLabels = { app: 'api' }),
      ['spec.template.metadata.labels: invalid value: `selector` does not match template `labels`'],
    ],
    [
      'an invalid selector label value (and no match check)',
      D,
      (m) => (m.spec.selector.matchLabels = { app: 'a b' }),
      [
        "spec.selector.matchLabels.app: invalid value \"a b\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
      ],
    ],
    [
      'In without values',
      D,
      (m) => (m.spec.selector = { matchExpressions: [{ key: 'app', operator: 'In' }] }),
      ["spec.selector.matchExpressions[0].values: must be specified when `operator` is 'In' or 'NotIn'"],
    ],
    [
      'Exists with values',
      D,
      (m) => (m.spec.selector = { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'app', operator: 'Exists', values: ['x'] }] }),
      ["spec.selector.matchExpressions[0].values: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"],
    ],
    [
      'an unknown selector operator',
      D,
      (m) => (m.spec.selector = { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'app', operator: 'Like' }] }),
      ['spec.selector.matchExpressions[0].operator: unsupported value "Like" (supported: In, NotIn, Exists, DoesNotExist)'],
    ],
    ['a missing template', D, (m) => delete m.spec.template, ['spec.template: required value']],
    ['a template without spec', D, (m) => delete t(m).spec, ['spec.template.spec: required value']],
    ['a template container without image', D, (m) => delete t(m).spec.containers[0].image, ['spec.template.spec.containers[0].image: required value']],
    [
      'a Deployment template restartPolicy other than Always',
      D,
      (m) => (t(m).spec.restartPolicy = 'Never'),
      ['spec.template.spec.restartPolicy: unsupported value "Never" (supported: Always)'],
    ],
    [
      'a restartPolicy that is none (reported once)',
      D,
      (m) => (t(m).spec.restartPolicy = 'Sometimes'),
      ['spec.template.spec.restartPolicy: unsupported value "Sometimes" (supported: Always, OnFailure, Never)'],
    ],
    ['maxSurge and maxUnavailable both 0', D, (m) => ru(m, { maxSurge: 0, maxUnavailable: 0 }), ['spec.strategy.rollingUpdate.maxUnavailable: may not be 0 when `maxSurge` is 0']],
    ['maxSurge and maxUnavailable both 0%', D, (m) => ru(m, { maxSurge: '0%', maxUnavailable: 0 }), ['spec.strategy.rollingUpdate.maxUnavailable: may not be 0 when `maxSurge` is 0']],
    ['a percent string without %', D, (m) => ru(m, { maxSurge: '1' }), [`spec.strategy.rollingUpdate.maxSurge: invalid value "1": ${PERCENT_MSG}`]],
    ['a fractional percent', D, (m) => ru(m, { maxSurge: '2.5%' }), [`spec.strategy.rollingUpdate.maxSurge: invalid value "2.5%": ${PERCENT_MSG}`]],
    ['a negative maxSurge', D, (m) => ru(m, { maxSurge: -1 }), ['spec.strategy.rollingUpdate.maxSurge: invalid value -1: must be greater than or equal to 0']],
    ['maxUnavailable over 100%', D, (m) => ru(m, { maxUnavailable: '150%' }), ['spec.strategy.rollingUpdate.maxUnavailable: invalid value "150%": must not be greater than 100%']],
    ['maxSurge as a list', D, (m) => ru(m, { maxSurge: [1] }), ['spec.strategy.rollingUpdate.maxSurge: expected an integer or a percentage string, got list']],
    [
      'Recreate with rollingUpdate',
      D,
      (m) => (m.spec.strategy = { type: 'Recreate', rollingUpdate: { maxSurge: 1 } }),
      ["spec.strategy.rollingUpdate: may not be specified when strategy `type` is 'Recreate'"],
    ],
    ['an unknown strategy', D, (m) => (m.spec.strategy = { type: 'BlueGreen' }), ['spec.strategy.type: unsupported value "BlueGreen" (supported: RollingUpdate, Recreate)']],
    [
      'progressDeadlineSeconds not above minReadySeconds',
      D,
      (m) => ((m.spec.minReadySeconds = 30), (m.spec.progressDeadlineSeconds = 30)),
      ['spec.progressDeadlineSeconds: invalid value 30: must be greater than minReadySeconds'],
    ],
    ['a negative revisionHistoryLimit', D, (m) => (m.spec.revisionHistoryLimit = -2), ['spec.revisionHistoryLimit: invalid value -2: must be greater than or equal to 0']],

    ['a StatefulSet name with a dot', 'StatefulSet', (m) => (m.metadata.name = 'db.v1'), [`metadata.name: invalid value "db.v1": ${LABEL_MSG}`]],
    ['a serviceName that is no DNS label', 'StatefulSet', (m) => (m.spec.serviceName = 'DB'), [`spec.serviceName: invalid value "DB": ${LABEL_MSG}`]],
    [
      'an unknown podManagementPolicy',
      'StatefulSet',
      (m) => (m.spec.podManagementPolicy = 'Random'),
      ['spec.podManagementPolicy: unsupported value "Random" (supported: OrderedReady, Parallel)'],
    ],
    [
      'OnDelete with rollingUpdate',
      'StatefulSet',
      (m) => (m.spec.updateStrategy = { type: 'OnDelete', rollingUpdate: { partition: 1 } }),
      ["spec.updateStrategy.rollingUpdate: only allowed for updateStrategy 'RollingUpdate'"],
    ],
    [
      'a negative partition',
      'StatefulSet',
      (m) => (m.spec.updateStrategy = { rollingUpdate: { partition: -1 } }),
      ['spec.updateStrategy.rollingUpdate.partition: invalid value -1: must be greater than or equal to 0'],
    ],
    ['a claim without storage', 'StatefulSet', (m) => claim(m, { resources: {} }), ['spec.volumeClaimTemplates[0].spec.resources.requests.storage: required value']],
    [
      'a zero storage request',
      'StatefulSet',
      (m) => claim(m, { resources: { requests: { storage: '0Gi' } } }),
      ['spec.volumeClaimTemplates[0].spec.resources.requests.storage: invalid value "0Gi": must be greater than zero'],
    ],
    [
      'an unknown access mode',
      'StatefulSet',
      (m) => claim(m, { accessModes: ['ReadWriteSometimes'], resources: { requests: { storage: '1Gi' } } }),
      ['spec.volumeClaimTemplates[0].spec.accessModes[0]: unsupported value "ReadWriteSometimes" (supported: ReadWriteOnce, ReadOnlyMany, ReadWriteMany, ReadWriteOncePod)'],
    ],
    [
      'a claim name that is no DNS label',
      'StatefulSet',
      (m) => claim(m, { resources: { requests: { storage: '1Gi' } } }, 'Data'),
      [`spec.volumeClaimTemplates[0].metadata.name: invalid value "Data": ${LABEL_MSG}`],
    ],
    [
      'the same claim name twice',
      'StatefulSet',
      (m) => {
        const c = { metadata: { name: 'data' }, spec: { resources: { requests: { storage: '1Gi' } } } };
        m.spec.volumeClaimTemplates = [c, c];
      },
      ['spec.volumeClaimTemplates[1].metadata.name: duplicate value "data"'],
    ],
    [
      'a mount of neither a volume nor a claim',
      'StatefulSet',
      (m) => (t(m).spec.containers[0].volumeMounts = [{ name: 'data', mountPath: '/data' }]),
      ['spec.template.spec.containers[0].volumeMounts[0].name: not found: no volume named "data" in spec.volumes'],
    ],
    [
      'a StatefulSet template restartPolicy other than Always',
      'StatefulSet',
      (m) => (t(m).spec.restartPolicy = 'OnFailure'),
      ['spec.template.spec.restartPolicy: unsupported value "OnFailure" (supported: Always)'],
    ],
    ['an empty StatefulSet selector', 'StatefulSet', (m) => (m.spec.selector = { matchLabels: {} }), ['spec.selector: empty selector is invalid for statefulset']],

    ['a Job without restartPolicy', 'Job', (m) => delete t(m).spec.restartPolicy, ['spec.template.spec.restartPolicy: required value (supported: OnFailure, Never)']],
    ['a Job with restartPolicy Always', 'Job', (m) => (t(m).spec.restartPolicy = 'Always'), ['spec.template.spec.restartPolicy: unsupported value "Always" (supported: OnFailure, Never)']],
    ['a Job selector without manualSelector', 'Job', (m) => (m.spec.selector = { matchLabels: { a: 'b' } }), ['spec.selector: may not be set unless manualSelector is true: it is generated']],
    ['manualSelector without selector', 'Job', (m) => (m.spec.manualSelector = true), ['spec.selector: required value']],
    [
      'a manual selector the template does not match',
      'Job',
      (m) => ((m.spec.manualSelector = true), (m.spec.selector = { matchLabels: { a: 'b' } })),
      ['spec.template.metadata.labels: invalid value: `selector` does not match template `labels`'],
    ],
    ['a negative backoffLimit', 'Job', (m) => (m.spec.backoffLimit = -1), ['spec.backoffLimit: invalid value -1: must be greater than or equal to 0']],
    ['a negative completions', 'Job', (m) => (m.spec.completions = -1), ['spec.completions: invalid value -1: must be greater than or equal to 0']],
    ['a negative parallelism', 'Job', (m) => (m.spec.parallelism = -3), ['spec.parallelism: invalid value -3: must be greater than or equal to 0']],
    ['a zero activeDeadlineSeconds', 'Job', (m) => (m.spec.activeDeadlineSeconds = 0), ['spec.activeDeadlineSeconds: must be greater than or equal to 1']],
    ['a Job name longer than a label value', 'Job', (m) => (m.metadata.name = 'j'.repeat(64)), [`metadata.name: invalid value "${'j'.repeat(64)}": must be no more than 63 characters`]],

    ['DaemonSet maxSurge and maxUnavailable both set', 'DaemonSet', (m) => dsru(m, { maxSurge: 1, maxUnavailable: 1 }), ['spec.updateStrategy.rollingUpdate.maxSurge: may not be set when maxUnavailable is non-zero']],
    ['DaemonSet maxSurge and maxUnavailable both 0', 'DaemonSet', (m) => dsru(m, { maxUnavailable: '0%' }), ['spec.updateStrategy.rollingUpdate.maxUnavailable: cannot be 0 when maxSurge is 0']],
    ['DaemonSet maxSurge over 100%', 'DaemonSet', (m) => dsru(m, { maxSurge: '101%', maxUnavailable: 0 }), ['spec.updateStrategy.rollingUpdate.maxSurge: invalid value "101%": must not be greater than 100%']],
    [
      'a DaemonSet template restartPolicy other than Always',
      'DaemonSet',
      (m) => (t(m).spec.restartPolicy = 'Never'),
      ['spec.template.spec.restartPolicy: unsupported value "Never" (supported: Always)'],
    ],
    ['a DaemonSet without selector', 'DaemonSet', (m) => delete m.spec.selector, ['spec.selector: required value']],

    ['an unsupported kind', D, (m) => (m.kind = 'ConfigMap'), ['kind: unsupported value "ConfigMap" (supported: Pod, Deployment, StatefulSet, Job, DaemonSet, Namespace, Service, EndpointSlice, Role, ClusterRole, RoleBinding, ClusterRoleBinding, ServiceAccount, List)']],
    ['a kind under the wrong apiVersion', D, (m) => (m.apiVersion = 'extensions/v1beta1'), ['apiVersion: unsupported value "extensions/v1beta1" for kind Deployment (supported: apps/v1)']],
    ['a Job under apps/v1', 'Job', (m) => (m.apiVersion = 'apps/v1'), ['apiVersion: unsupported value "apps/v1" for kind Job (supported: batch/v1)']],
    ['a missing apiVersion', D, (m) => delete m.apiVersion, ['apiVersion: required value']],
  ];

  for (const [what, kind, edit, want] of cases) {
    it(`rejects ${what} (${kind})`, () => {
      assert.deepEqual(
        problemsOf(manifest(kind, edit)),
        want.map((p) => `z.yaml: ${p}`),
      );
    });
  }

  it('collects every problem of every document into one ManifestError, with unknown fields as warnings', () => {
    const text = [
      manifest('Deployment', (m) => ((m.spec.replicas = -1), (m.spec.replica = 3))),
      manifest('Job'),
      manifest('StatefulSet', (m) => ((m.metadata.name = 'DB'), delete t(m).spec.containers[0].name)),
    ].join('\n---\n');
    let err: unknown;
    try {
      decodeObjects(text, 'zap.yaml');
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof ManifestError);
    assert.deepEqual(err.problems, [
      'zap.yaml (document 1): spec.replicas: invalid value -1: must be greater than or equal to 0',
      `zap.yaml (document 3): metadata.name: invalid value "DB": ${SUBDOMAIN_MSG}`,
      'zap.yaml (document 3): spec.template.spec.containers[0].name: required value',
    ]);
    assert.deepEqual(err.warnings, ['zap.yaml (document 1): spec.replica: unknown field']);
  });

  it('warns about unknown fields of accepted manifests', () => {
    const { warnings } = decodeObjects(
      manifest('Deployment', (m) => {
        m.spec.strategy = { rollingUpdate: { maxSurge: 1, maxSurg: 2 } };
        t(m).spec.containers[0].imagePullSecret = 'x';
        m.spec.template.metadata.labelz = {};
      }),
      'w.yaml',
    );
    assert.deepEqual(warnings, [
      'w.yaml: spec.template.metadata.labelz: unknown field',
      'w.yaml: spec.template.spec.containers[0].imagePullSecret: unknown field',
      'w.yaml: spec.strategy.rollingUpdate.maxSurg: unknown field',
    ]);
  });

  it('rejects the same object twice, but allows one name across kinds', () => {
    assert.deepEqual(problemsOf(`${manifest(D)}\n---\n${manifest(D)}`), [
      'z.yaml (document 2): metadata.name: duplicate Deployment "default/web" in this source',
    ]);
    const { objects } = decodeObjects(`${manifest(D)}\n---\n${manifest('Pod')}\n---\n${manifest('DaemonSet', (m) => (m.metadata.name = 'web'))}`, 'z.yaml');
    assert.deepEqual(
      objects.map((o) => `${o.kind}/${o.metadata.name}`),
      ['Deployment/web', 'Pod/web', 'DaemonSet/web'],
    );
  });

  it('reads a v1 List of mixed kinds and names item paths in errors', () => {
    const list = (items: unknown[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
    const items = ['Deployment', 'Job', 'Pod'].map((k) => JSON.parse(manifest(k)));
    assert.deepEqual(
      decodeObjects(list(items), 'l.json').objects.map((o) => o.kind),
      ['Deployment', 'Job', 'Pod'],
    );
    assert.deepEqual(problemsOf(list([items[0], { ...items[1], kind: 'List' }, JSON.parse(manifest('Job', (m) => (m.spec.backoffLimit = -1)))]), 'l.json'), [
      'l.json: items[1].kind: unsupported value "List" (supported: Pod, Deployment, StatefulSet, Job, DaemonSet, Namespace, Service, EndpointSlice, Role, ClusterRole, RoleBinding, ClusterRoleBinding, ServiceAccount)',
      'l.json: items[2].spec.backoffLimit: invalid value -1: must be greater than or equal to 0',
    ]);
  });

  it('returns nothing for an empty file and reports YAML syntax errors', () => {
    assert.deepEqual(decodeObjects('# nothing\n', 'e.yaml'), { objects: [], warnings: [] });
    assert.match(problemsOf('a: [1\n')[0], /^z\.yaml: .* at line \d+, column \d+$/);
  });
});

describe('decodeObjects: the Zeus ZAP manifest (3 Deployments + 1 StatefulSet)', () => {
  const zap = `# Zeus ZAP: web front end, API, worker, and its database
apiVersion: apps/v1
kind: Deployment
metadata:
  name: zeus-web
  namespace: zap
  labels: {app.kubernetes.io/part-of: zeus-zap}
spec:
  replicas: 3
  selector:
    matchLabels: {app: zeus-web}
  strategy:
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
  template:
    metadata:
      labels: {app: zeus-web, tier: front}
    spec:
      containers:
      - name: web
        image: registry.local/zeus/web:2.4.1
        ports: [{name: http, containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /healthz, port: http}
        resources:
          requests: {cpu: 100m, memory: 64Mi}
          limits: {memory: 128Mi}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: zeus-api
  namespace: zap
spec:
  replicas: 2
  selector:
    matchLabels: {app: zeus-api}
  template:
    metadata:
      labels: {app: zeus-api}
    spec:
      containers:
      - name: api
        image: registry.local/zeus/api:2.4.1
        env:
        - {name: DATABASE_URL, value: "postgres://zeus-db-0.zeus-db:5432/zap"}
        ports: [{containerPort: 9000}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: zeus-worker
  namespace: zap
spec:
  selector:
    matchLabels: {app: zeus-worker}
  strategy: {type: Recreate}
  template:
    metadata:
      labels: {app: zeus-worker}
    spec:
      containers:
      - name: worker
        image: registry.local/zeus/worker:2.4.1
        args: [--queue, default]
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: zeus-db
  namespace: zap
spec:
  serviceName: zeus-db
  replicas: 1
  selector:
    matchLabels: {app: zeus-db}
  template:
    metadata:
      labels: {app: zeus-db}
    spec:
      terminationGracePeriodSeconds: 60
      containers:
      - name: postgres
        image: postgres:16
        ports: [{name: pg, containerPort: 5432}]
        volumeMounts:
        - {name: pgdata, mountPath: /var/lib/postgresql/data}
  volumeClaimTemplates:
  - metadata: {name: pgdata}
    spec:
      accessModes: [ReadWriteOnce]
      resources:
        requests: {storage: 5Gi}
`;

  it('decodes every object in order, with defaults and without warnings', () => {
    const { objects, warnings } = decodeObjects(zap, 'zeus-zap.yaml');
    assert.deepEqual(warnings, []);
    assert.deepEqual(
      objects.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`),
      ['Deployment zap/zeus-web', 'Deployment zap/zeus-api', 'Deployment zap/zeus-worker', 'StatefulSet zap/zeus-db'],
    );
    const [web, api, worker, db] = objects as [Declared<Deployment>, Declared<Deployment>, Declared<Deployment>, Declared<StatefulSet>];
    assert.deepEqual(web.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    assert.equal(web.spec.replicas, 3);
    assert.deepEqual(web.spec.template.spec.containers[0].resources, { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '128Mi' } });
    assert.deepEqual(api.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } });
    assert.deepEqual([worker.spec.replicas, worker.spec.strategy], [1, { type: 'Recreate' }]);
    assert.equal(db.spec.podManagementPolicy, 'OrderedReady');
    assert.equal(db.spec.template.spec.terminationGracePeriodSeconds, 60);
    assert.deepEqual(db.spec.volumeClaimTemplates[0].spec, { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '5Gi' } } });
    for (const o of objects) assert.equal('uid' in o.metadata, false);
  });

  it('rejects the ZAP file with a broken selector, naming the document and path', () => {
    const broken = zap.replace('matchLabels: {app: zeus-api}', 'matchLabels: {app: zeus-apj}');
    assert.deepEqual(problemsOf(broken, 'zeus-zap.yaml'), [
      'zeus-zap.yaml (document 2): spec.template.metadata.labels: invalid value: `selector` does not match template `labels`',
    ]);
  });
});

describe('resolveIntOrPercent', () => {
  const cases: [number | string, number, boolean, number][] = [
    // [value, total, roundUp, want]
    ['25%', 10, true, 3],
    ['25%', 10, false, 2],
    ['25%', 4, true, 1],
    ['25%', 4, false, 1],
    ['25%', 1, true, 1],
    ['25%', 1, false, 0],
    ['33%', 3, true, 1],
    ['33%', 3, false, 0],
    ['50%', 5, true, 3],
    ['50%', 5, false, 2],
    ['100%', 7, false, 7],
    ['150%', 3, true, 5],
    ['0%', 10, true, 0],
    ['1%', 0, true, 0],
    [3, 10, true, 3],
    [3, 10, false, 3],
    [0, 10, true, 0],
  ];
  for (const [value, total, roundUp, want] of cases) {
    it(`${JSON.stringify(value)} of ${total} rounded ${roundUp ? 'up' : 'down'} is ${want}`, () => {
      assert.equal(resolveIntOrPercent(value, total, roundUp), want);
    });
  }

  it('rejects strings that are no percentage', () => {
    for (const bad of ['', '%', '25', '2.5%', '-5%', ' 5%']) {
      assert.throws(
        () => resolveIntOrPercent(bad, 10, true),
        (e: unknown) => e instanceof CoreletError && e.kind === 'InvalidArgument',
        JSON.stringify(bad),
      );
    }
  });
});

describe('selectorMatches', () => {
  const labels = { app: 'web', tier: 'front' };
  const cases: [string, Parameters<typeof selectorMatches>[0], boolean][] = [
    ['matchLabels subset', { matchLabels: { app: 'web' } }, true],
    ['matchLabels mismatch', { matchLabels: { app: 'api' } }, false],
    ['matchLabels missing key', { matchLabels: { zone: 'a' } }, false],
    ['In', { matchLabels: {}, matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'back'] }] }, true],
    ['In, absent key', { matchLabels: {}, matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, false],
    ['NotIn', { matchLabels: {}, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] }, false],
    ['NotIn, absent key', { matchLabels: {}, matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, true],
    ['Exists', { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, true],
    ['DoesNotExist', { matchLabels: {}, matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, false],
    ['inherited keys are not labels', { matchLabels: {}, matchExpressions: [{ key: 'constructor', operator: 'Exists' }] }, false],
  ];
  for (const [what, selector, want] of cases) {
    it(what, () => assert.equal(selectorMatches(selector, labels), want));
  }
});

describe('withJobSelector', () => {
  it('adds the controller-uid labels and selector the API server generates', () => {
    const job = decodeOne(manifest('Job')) as Declared<Job>;
    const out = withJobSelector(job, 'u-9');
    assert.deepEqual(out.spec.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u-9' } });
    assert.deepEqual(out.spec.template.metadata.labels, {
      'batch.kubernetes.io/job-name': 'migrate',
      'job-name': 'migrate',
      'batch.kubernetes.io/controller-uid': 'u-9',
      'controller-uid': 'u-9',
    });
    assert.ok(selectorMatches(out.spec.selector!, out.spec.template.metadata.labels));
    assert.equal(job.spec.selector, undefined, 'the input is not changed');
  });

  it('leaves a manual selector alone', () => {
    const job = decodeOne(
      manifest('Job', (m) => {
        m.spec.manualSelector = true;
        m.spec.selector = { matchLabels: { app: 'web' } };
        m.spec.template.metadata = { labels: { app: 'web' } };
      }),
    ) as Declared<Job>;
    assert.deepEqual(job.spec.template.metadata.labels, { app: 'web' });
    assert.equal(withJobSelector(job, 'u-9'), job);
  });
});

describe('decodePods after the refactor', () => {
  it('still rejects workload kinds and keeps its static uids', () => {
    assert.throws(() => decodePods(manifest('Deployment'), 'p.yaml'), /apiVersion: unsupported value "apps\/v1" \(supported: v1\)/);
    assert.ok(decodePods(manifest('Pod'), 'p.yaml').pods[0].metadata.uid);
  });
});

describe('decodeObjects: JSON and YAML read alike', () => {
  it('gives the same objects for a JSON body, its YAML form and a YAML flow mapping; bad JSON is named', () => {
    const json = manifest('Deployment', (m) => {
      m.spec.replicas = 3;
      m.spec.template.spec.containers[0].ports = [{ containerPort: 8080 }];
    });
    const yaml = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: "nginx:1.25", ports: [{containerPort: 8080}]}
`;
    const fromJson = decodeOne(json);
    assert.deepEqual(fromJson, decodeOne(yaml));
    assert.deepEqual(decodeOne(`{apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {replicas: 3, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: "nginx:1.25", ports: [{containerPort: 8080}]}]}}}}`), fromJson);
    assert.equal((fromJson as unknown as Deployment).spec.replicas, 3);
    assert.throws(
      () => decodeObjects('{"apiVersion": "v1", "kind": "Pod", ', 'body.json'),
      (e: unknown) => e instanceof ManifestError && /^body\.json: /.test(e.message),
    );
  });
});
