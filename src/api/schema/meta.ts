/** Object metadata, label selectors and the named scalars every kind shares. */
import { bool, int64, listOf, ref, str, stringList, stringMap, type TypeDef } from './types.js';

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';

export const META_TYPES: Readonly<Record<string, TypeDef>> = {
  Time: { id: `${META}.Time`, description: 'A point in time, written as RFC 3339 in UTC (2026-01-02T15:04:05Z).', scalar: { type: 'string', format: 'date-time' } },
  Quantity: {
    id: 'io.k8s.apimachinery.pkg.api.resource.Quantity',
    description:
      'An amount of a resource: a decimal number with an optional suffix. CPU in cores or millicores (0.5, 500m), memory and storage in bytes with binary (Ki, Mi, Gi) or decimal (k, M, G) suffixes (128Mi, 1G).',
    scalar: { type: 'string', oneOf: ['string', 'number'] },
  },
  IntOrString: {
    id: 'io.k8s.apimachinery.pkg.util.intstr.IntOrString',
    description: 'Either an integer or a string: a port number or a port name, a count or a percentage ("25%").',
    scalar: { type: 'string', format: 'int-or-string', intOrString: true, oneOf: ['integer', 'string'] },
  },
  ObjectMeta: {
    id: `${META}.ObjectMeta`,
    description: 'The metadata every stored object has: its name, namespace, labels, annotations and what the server records about it.',
    properties: {
      name: str('The object\'s name, unique among objects of its kind in its namespace. A DNS subdomain (lower case letters, digits, "-" and ".", at most 253 characters); some kinds ask for a DNS label.'),
      generateName: str('A prefix the server may complete into a unique name when name is empty.'),
      namespace: str('The namespace the object lives in ("default" when absent). Cluster-scoped kinds ignore it.'),
      uid: str('The identity the server gives the object when it is created; another object of the same name later gets another uid.', { output: true }),
      labels: stringMap('Key/value pairs that selectors match (Services, workloads, `get -l`). Keys are optionally prefixed qualified names; values at most 63 characters.'),
      annotations: stringMap('Key/value pairs for tools and people; not used for selection. At most 256 KiB in all.'),
      creationTimestamp: ref('Time', 'When the server stored the object. Set by the server.', { output: true }),
      deletionTimestamp: ref('Time', 'When a graceful deletion was asked for; the object goes away after its grace period. Set by the server.', { output: true }),
      deletionGracePeriodSeconds: int64('Seconds the object was given to terminate when its deletion was asked for. Set by the server.', { output: true }),
      generation: int64('A counter of changes to the desired state (spec); controllers report the generation they have seen. Set by the server.', { output: true }),
      resourceVersion: str('The version of the object in the store. An update that carries it succeeds only if the object has not changed since (409 Conflict otherwise).'),
      ownerReferences: listOf('OwnerReference', 'The objects this one belongs to: deleting an owner deletes what it owns (a ReplicaSet owns its Pods).', {
        mergeKey: 'uid',
        patchStrategy: 'merge',
      }),
      managedFields: listOf('ManagedFieldsEntry', 'Which manager (kubectl, a controller, server-side apply\'s fieldManager) last set which fields. Kept by the server; one given in a request is not taken as is.', {
        output: true,
      }),
    },
  },
  ManagedFieldsEntry: {
    id: `${META}.ManagedFieldsEntry`,
    description: 'The fields one manager set, by one kind of operation.',
    properties: {
      manager: str('The manager\'s name (?fieldManager= of the request).'),
      operation: str('Apply (server-side apply) or Update (any other write).', { enum: ['Apply', 'Update'] }),
      apiVersion: str('The apiVersion the fields are named in.'),
      time: ref('Time', 'When the manager last changed them.'),
      fieldsType: str('FieldsV1.'),
      fieldsV1: ref('FieldsV1', 'The set of fields.'),
      subresource: str('The subresource written (status, scale), if any.'),
    },
  },
  FieldsV1: {
    id: `${META}.FieldsV1`,
    description: 'A set of fields as a tree: "f:<name>" for a field, "k:<key>" for a list item by its merge key, "v:<value>" for a set member, "." for the node itself.',
    properties: {},
  },
  OwnerReference: {
    id: `${META}.OwnerReference`,
    description: 'The object that owns this one.',
    properties: {
      apiVersion: str('The owner\'s apiVersion.', { required: true }),
      kind: str('The owner\'s kind.', { required: true }),
      name: str('The owner\'s name, in the same namespace.', { required: true }),
      uid: str('The owner\'s uid.', { required: true }),
      controller: bool('True when the owner is the controller that manages this object (at most one owner is).'),
    },
  },
  LabelSelector: {
    id: `${META}.LabelSelector`,
    description: 'Which objects are selected by their labels. Every matchLabels pair and every matchExpressions requirement must hold; an empty selector selects everything.',
    properties: {
      matchLabels: stringMap('Labels an object must have with exactly these values.'),
      matchExpressions: listOf('LabelSelectorRequirement', 'Requirements on labels, all of which must hold.'),
    },
  },
  LabelSelectorRequirement: {
    id: `${META}.LabelSelectorRequirement`,
    description: 'A requirement on one label key.',
    properties: {
      key: str('The label key.', { required: true }),
      operator: str('In and NotIn compare the value with values; Exists and DoesNotExist test the key alone.', { required: true, enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] }),
      values: stringList('The values for In and NotIn (at least one); empty for Exists and DoesNotExist.'),
    },
  },
};
