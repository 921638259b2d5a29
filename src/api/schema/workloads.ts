/** The workload kinds: Deployment, ReplicaSet, StatefulSet, DaemonSet (apps/v1) and Job (batch/v1). */
import { bool, int32, int64, listOf, ref, str, stringMap, type Field, type TypeDef } from './types.js';

const APPS = 'io.k8s.api.apps.v1';
const BATCH = 'io.k8s.api.batch.v1';

const root = (kind: string, group: string, specType: string, statusType: string, what: string): Readonly<Record<string, Field>> => ({
  apiVersion: str(`The schema version of this object: ${group}/v1.`),
  kind: str(`The kind of this object: ${kind}.`),
  metadata: ref('ObjectMeta', `The ${what}'s name, namespace, labels and annotations.`),
  spec: ref(specType, `What you ask of the ${what}; its controller works toward it.`),
  status: ref(statusType, `The observed state of the ${what}. Set by the controllers; ignored in a manifest.`, { output: true }),
});

const selector = (what: string): Field => ref('LabelSelector', `Selects the pods this ${what} owns; it must match the template's labels and cannot change after creation.`, { required: true });
const template = (what: string): Field => ref('PodTemplateSpec', `The pods this ${what} makes.`, { required: true });
const revisionHistoryLimit = (what: string): Field => int32(`How many old ${what} revisions are kept for a rollback (default 10).`);
const minReadySeconds = int32('Seconds a new pod must be ready, without a container crashing, to count as available (default 0).');
const observedGeneration = int64('The metadata.generation the controller last acted on.');
const conditions = (what: string): Field => listOf('WorkloadCondition', `The latest observations of the ${what}'s state.`, { mergeKey: 'type', patchStrategy: 'merge' });

export const WORKLOAD_TYPES: Readonly<Record<string, TypeDef>> = {
  PodTemplateSpec: {
    id: 'io.k8s.api.core.v1.PodTemplateSpec',
    description: 'The pods a workload makes: their labels and annotations, and their spec.',
    properties: {
      metadata: ref('TemplateMeta', 'Labels and annotations every pod gets (the name is made by the controller).'),
      spec: ref('PodSpec', 'The spec of every pod.'),
    },
  },
  TemplateMeta: {
    id: 'io.corelet.api.core.v1.TemplateMeta',
    description: 'The metadata of a template: what the objects made from it get. The server-set fields of ObjectMeta have no place here.',
    properties: {
      name: str('A name (a claim template\'s is the volume name; a pod template\'s is unused: the controller names the pods).'),
      namespace: str('Unused: the objects go to the workload\'s namespace.'),
      labels: stringMap('Labels every object made gets; a pod template\'s must match the workload\'s selector.'),
      annotations: stringMap('Annotations every object made gets.'),
      creationTimestamp: ref('Time', 'Unused (kubectl get -o yaml prints it as null).', { output: true }),
    },
  },
  WorkloadCondition: {
    id: 'io.corelet.api.apps.v1.WorkloadCondition',
    description: 'One observation of a workload\'s state.',
    properties: {
      type: str('What is observed (Available, Progressing, Complete, Failed, ...).'),
      status: str('True, False or Unknown.', { enum: ['True', 'False', 'Unknown'] }),
      reason: str('A one-word reason for the last transition.'),
      message: str('A human-readable explanation.'),
      lastTransitionTime: ref('Time', 'When status last changed.'),
      lastUpdateTime: ref('Time', 'When the condition was last updated.'),
    },
  },
  Deployment: {
    id: `${APPS}.Deployment`,
    description: 'Runs a number of identical pods and replaces them with a rolling update (or all at once) when the template changes, through one ReplicaSet per template revision.',
    gvk: { group: 'apps', version: 'v1', kind: 'Deployment' },
    properties: root('Deployment', 'apps', 'DeploymentSpec', 'DeploymentStatus', 'Deployment'),
  },
  DeploymentSpec: {
    id: `${APPS}.DeploymentSpec`,
    description: 'The desired state of a Deployment.',
    properties: {
      replicas: int32('How many pods should run (default 1).'),
      selector: selector('Deployment'),
      template: template('Deployment'),
      strategy: ref('DeploymentStrategy', 'How old pods are replaced by new ones.', { patchStrategy: 'retainKeys' }),
      minReadySeconds,
      revisionHistoryLimit: revisionHistoryLimit('ReplicaSet'),
      progressDeadlineSeconds: int32('Seconds a rollout may go without progress before the Deployment reports it failed (ProgressDeadlineExceeded; default 600).'),
      paused: bool('While true, template changes start no rollout.'),
    },
  },
  DeploymentStrategy: {
    id: `${APPS}.DeploymentStrategy`,
    description: 'How a Deployment replaces its pods.',
    properties: {
      type: str('RollingUpdate (default: a few at a time, see rollingUpdate) or Recreate (all old pods go before new ones start).', { enum: ['RollingUpdate', 'Recreate'] }),
      rollingUpdate: ref('RollingUpdateDeployment', 'The pace of a RollingUpdate.'),
    },
  },
  RollingUpdateDeployment: {
    id: `${APPS}.RollingUpdateDeployment`,
    description: 'The pace of a Deployment\'s rolling update.',
    properties: {
      maxSurge: ref('IntOrString', 'How many pods over replicas may exist during the update: a number or a percentage of replicas, rounded up (default 25%).'),
      maxUnavailable: ref('IntOrString', 'How many of replicas may be unavailable during the update: a number or a percentage, rounded down (default 25%). Not 0 when maxSurge is 0.'),
    },
  },
  DeploymentStatus: {
    id: `${APPS}.DeploymentStatus`,
    description: 'The observed state of a Deployment.',
    properties: {
      observedGeneration,
      replicas: int32('Pods of all its ReplicaSets.'),
      updatedReplicas: int32('Pods of the current template.'),
      readyReplicas: int32('Pods that are ready.'),
      availableReplicas: int32('Pods ready for at least minReadySeconds.'),
      unavailableReplicas: int32('Pods still missing to reach replicas available.'),
      conditions: conditions('Deployment'),
      collisionCount: int32('Counts hash collisions of template revisions.'),
    },
  },
  ReplicaSet: {
    id: `${APPS}.ReplicaSet`,
    description: 'Keeps a number of identical pods running. Deployments make and scale them; one ReplicaSet per template revision.',
    gvk: { group: 'apps', version: 'v1', kind: 'ReplicaSet' },
    properties: root('ReplicaSet', 'apps', 'ReplicaSetSpec', 'ReplicaSetStatus', 'ReplicaSet'),
  },
  ReplicaSetSpec: {
    id: `${APPS}.ReplicaSetSpec`,
    description: 'The desired state of a ReplicaSet.',
    properties: {
      replicas: int32('How many pods should run (default 1).'),
      selector: selector('ReplicaSet'),
      template: template('ReplicaSet'),
      minReadySeconds,
    },
  },
  ReplicaSetStatus: {
    id: `${APPS}.ReplicaSetStatus`,
    description: 'The observed state of a ReplicaSet.',
    properties: {
      observedGeneration,
      replicas: int32('Pods it owns.'),
      readyReplicas: int32('Pods that are ready.'),
      availableReplicas: int32('Pods ready for at least minReadySeconds.'),
      fullyLabeledReplicas: int32('Pods whose labels match the template\'s.'),
    },
  },
  StatefulSet: {
    id: `${APPS}.StatefulSet`,
    description: 'Runs pods with stable identities: names <set>-0, <set>-1, ..., stable DNS names through serviceName, and a persistent volume per pod and claim template, started and updated in order.',
    gvk: { group: 'apps', version: 'v1', kind: 'StatefulSet' },
    properties: root('StatefulSet', 'apps', 'StatefulSetSpec', 'StatefulSetStatus', 'StatefulSet'),
  },
  StatefulSetSpec: {
    id: `${APPS}.StatefulSetSpec`,
    description: 'The desired state of a StatefulSet.',
    properties: {
      replicas: int32('How many pods should run (default 1).'),
      selector: selector('StatefulSet'),
      serviceName: str('The headless Service that gives each pod the DNS name <pod>.<serviceName>.'),
      template: template('StatefulSet'),
      volumeClaimTemplates: listOf('PersistentVolumeClaim', 'Claims every pod gets one volume of, named <claim>-<pod>; containers mount them by the claim\'s name.'),
      podManagementPolicy: str('OrderedReady (default: one pod at a time, each ready before the next) or Parallel.', { enum: ['OrderedReady', 'Parallel'] }),
      updateStrategy: ref('StatefulSetUpdateStrategy', 'How pods are replaced when the template changes.'),
      revisionHistoryLimit: revisionHistoryLimit('template'),
      minReadySeconds,
      persistentVolumeClaimRetentionPolicy: ref('StatefulSetPersistentVolumeClaimRetentionPolicy', 'Whether the pods\' volumes are kept when the set is deleted or scaled down.'),
    },
  },
  StatefulSetUpdateStrategy: {
    id: `${APPS}.StatefulSetUpdateStrategy`,
    description: 'How a StatefulSet replaces its pods.',
    properties: {
      type: str('RollingUpdate (default: highest ordinal first, one at a time) or OnDelete (a pod is replaced when you delete it).', { enum: ['RollingUpdate', 'OnDelete'] }),
      rollingUpdate: ref('RollingUpdateStatefulSetStrategy', 'The extent of a RollingUpdate.'),
    },
  },
  RollingUpdateStatefulSetStrategy: {
    id: `${APPS}.RollingUpdateStatefulSetStrategy`,
    description: 'Which pods a StatefulSet\'s rolling update reaches.',
    properties: { partition: int32('Only pods with an ordinal at least this are updated (default 0: all).') },
  },
  StatefulSetPersistentVolumeClaimRetentionPolicy: {
    id: `${APPS}.StatefulSetPersistentVolumeClaimRetentionPolicy`,
    description: 'What happens to a StatefulSet\'s volumes.',
    properties: {
      whenDeleted: str('Retain (default) or Delete the volumes when the StatefulSet is deleted.', { enum: ['Retain', 'Delete'] }),
      whenScaled: str('Retain (default) or Delete the volumes of pods removed by a scale down.', { enum: ['Retain', 'Delete'] }),
    },
  },
  PersistentVolumeClaim: {
    id: 'io.k8s.api.core.v1.PersistentVolumeClaim',
    description: 'A claim template of a StatefulSet: a volume each pod gets.',
    properties: {
      apiVersion: str('v1 (optional in a template).'),
      kind: str('PersistentVolumeClaim (optional in a template).'),
      metadata: ref('TemplateMeta', 'The claim\'s name (the volume name containers mount), labels and annotations.'),
      spec: ref('PersistentVolumeClaimSpec', 'The volume asked for.'),
      status: ref('PersistentVolumeClaimStatus', 'Not used in a template.', { output: true }),
    },
  },
  PersistentVolumeClaimSpec: {
    id: 'io.k8s.api.core.v1.PersistentVolumeClaimSpec',
    description: 'The volume a claim asks for.',
    properties: {
      accessModes: listOf({ type: 'string', enum: ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'] }, 'How the volume may be mounted (default ReadWriteOnce).', { listType: 'atomic' }),
      resources: ref('VolumeResourceRequirements', 'The size asked for.'),
      storageClassName: str('The class of storage (recorded; corelet keeps volumes on the node\'s disk).'),
    },
  },
  VolumeResourceRequirements: {
    id: 'io.k8s.api.core.v1.VolumeResourceRequirements',
    description: 'The size of a claimed volume.',
    properties: { requests: ref('VolumeStorageRequest', 'The storage asked for.') },
  },
  VolumeStorageRequest: {
    id: 'io.corelet.api.core.v1.VolumeStorageRequest',
    description: 'The storage a claim asks for.',
    properties: { storage: ref('Quantity', 'The size of the volume (1Gi).', { required: true }) },
  },
  PersistentVolumeClaimStatus: {
    id: 'io.k8s.api.core.v1.PersistentVolumeClaimStatus',
    description: 'The observed state of a claim.',
    properties: { phase: str('Pending, Bound or Lost.') },
  },
  StatefulSetStatus: {
    id: `${APPS}.StatefulSetStatus`,
    description: 'The observed state of a StatefulSet.',
    properties: {
      observedGeneration,
      replicas: int32('Pods it owns.'),
      readyReplicas: int32('Pods that are ready.'),
      currentReplicas: int32('Pods of currentRevision.'),
      updatedReplicas: int32('Pods of updateRevision.'),
      availableReplicas: int32('Pods ready for at least minReadySeconds.'),
      currentRevision: str('The revision of the pods before the update in progress.'),
      updateRevision: str('The revision of the current template.'),
      collisionCount: int32('Counts hash collisions of template revisions.'),
      conditions: conditions('StatefulSet'),
    },
  },
  DaemonSet: {
    id: `${APPS}.DaemonSet`,
    description: 'Runs one pod on every node (or every node its template\'s nodeSelector and tolerations allow).',
    gvk: { group: 'apps', version: 'v1', kind: 'DaemonSet' },
    properties: root('DaemonSet', 'apps', 'DaemonSetSpec', 'DaemonSetStatus', 'DaemonSet'),
  },
  DaemonSetSpec: {
    id: `${APPS}.DaemonSetSpec`,
    description: 'The desired state of a DaemonSet.',
    properties: {
      selector: selector('DaemonSet'),
      template: template('DaemonSet'),
      updateStrategy: ref('DaemonSetUpdateStrategy', 'How pods are replaced when the template changes.'),
      minReadySeconds,
      revisionHistoryLimit: revisionHistoryLimit('template'),
    },
  },
  DaemonSetUpdateStrategy: {
    id: `${APPS}.DaemonSetUpdateStrategy`,
    description: 'How a DaemonSet replaces its pods.',
    properties: {
      type: str('RollingUpdate (default) or OnDelete (a pod is replaced when you delete it).', { enum: ['RollingUpdate', 'OnDelete'] }),
      rollingUpdate: ref('RollingUpdateDaemonSet', 'The pace of a RollingUpdate.'),
    },
  },
  RollingUpdateDaemonSet: {
    id: `${APPS}.RollingUpdateDaemonSet`,
    description: 'The pace of a DaemonSet\'s rolling update.',
    properties: {
      maxUnavailable: ref('IntOrString', 'How many nodes may be without an available pod during the update: a number or a percentage of the nodes (default 1).'),
      maxSurge: ref('IntOrString', 'How many nodes may run an old and a new pod at once (default 0). Not 0 when maxUnavailable is 0.'),
    },
  },
  DaemonSetStatus: {
    id: `${APPS}.DaemonSetStatus`,
    description: 'The observed state of a DaemonSet.',
    properties: {
      observedGeneration,
      currentNumberScheduled: int32('Nodes running a pod of the set that should.'),
      numberMisscheduled: int32('Nodes running a pod of the set that should not.'),
      desiredNumberScheduled: int32('Nodes that should run a pod of the set.'),
      numberReady: int32('Nodes whose pod is ready.'),
      updatedNumberScheduled: int32('Nodes running a pod of the current template.'),
      numberAvailable: int32('Nodes whose pod is available.'),
      numberUnavailable: int32('Nodes that should run an available pod and do not.'),
      collisionCount: int32('Counts hash collisions of template revisions.'),
      conditions: conditions('DaemonSet'),
    },
  },
  Job: {
    id: `${BATCH}.Job`,
    description: 'Runs pods until a number of them have succeeded.',
    gvk: { group: 'batch', version: 'v1', kind: 'Job' },
    properties: root('Job', 'batch', 'JobSpec', 'JobStatus', 'Job'),
  },
  JobSpec: {
    id: `${BATCH}.JobSpec`,
    description: 'The desired state of a Job.',
    properties: {
      completions: int32('How many pods must succeed (default 1).'),
      parallelism: int32('How many pods may run at once (default 1).'),
      backoffLimit: int32('Failed pods after which the Job fails (default 6).'),
      activeDeadlineSeconds: int64('Seconds the Job may run before it fails (DeadlineExceeded).'),
      ttlSecondsAfterFinished: int32('Seconds after the Job finishes before it is deleted with its pods.'),
      suspend: bool('While true, no pods are started and running ones are stopped.'),
      manualSelector: bool('Use selector as given instead of the one the server generates from the Job\'s uid.'),
      selector: ref('LabelSelector', 'With manualSelector: the pods this Job owns. Otherwise generated.'),
      template: ref('PodTemplateSpec', 'The pods this Job runs; restartPolicy must be OnFailure or Never.', { required: true }),
    },
  },
  JobStatus: {
    id: `${BATCH}.JobStatus`,
    description: 'The observed state of a Job.',
    properties: {
      active: int32('Pods running.'),
      succeeded: int32('Pods that succeeded.'),
      failed: int32('Pods that failed.'),
      ready: int32('Running pods that are ready.'),
      startTime: ref('Time', 'When the Job started.'),
      completionTime: ref('Time', 'When the Job completed.'),
      conditions: conditions('Job'),
    },
  },
};
