/**
 * Request bodies in Kubernetes' protobuf encoding (Content-Type: application/vnd.kubernetes.protobuf),
 * which kubectl's typed clients send: `kubectl auth can-i` (a SelfSubjectAccessReview), `kubectl auth
 * whoami` (a SelfSubjectReview), `kubectl
 * create namespace|deployment|job|serviceaccount|role|rolebinding|clusterrole|clusterrolebinding|token`,
 * the DeleteOptions of `kubectl drain`'s deletes.
 * The API answers JSON (these clients accept it). A body is turned into the JSON object the JSON
 * routes read, field by field from the tables below (the field numbers of k8s.io/api's messages,
 * for the fields corelet serves); a field the tables lack that carries a value is refused with 415
 * (send JSON), never dropped silently. Zero values are left out, as Go's JSON omits them.
 *
 * The wire format: the 4 bytes "k8s\0", then a runtime.Unknown message {1: typeMeta {1: apiVersion,
 * 2: kind}, 2: raw (the object's own message), 3: contentEncoding, 4: contentType}.
 */

/** The protobuf media type of Kubernetes. */
export const PROTOBUF_TYPE = 'application/vnd.kubernetes.protobuf';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** A body that cannot be read (the route answers 400 or 415 with the message). */
export class ProtobufError extends Error {
  constructor(
    message: string,
    /** True when the kind is not one corelet reads as protobuf (415), false when the bytes are broken (400). */
    readonly unsupported: boolean,
  ) {
    super(message);
  }
}

type Field = { no: number; wire: number; value: bigint | Buffer };

/** The fields of one message, in order (varints and length-delimited values; fixed ones skipped). */
function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let at = 0;
  const varint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (at >= buf.length || shift > 63n) throw new ProtobufError('the protobuf body is cut short or malformed', false);
      const b = buf[at++];
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v;
    }
  };
  while (at < buf.length) {
    const key = Number(varint());
    const no = key >>> 3;
    const wire = key & 7;
    if (no === 0) throw new ProtobufError('the protobuf body has a field numbered 0', false);
    if (wire === 0) out.push({ no, wire, value: varint() });
    else if (wire === 2) {
      const len = Number(varint());
      if (at + len > buf.length) throw new ProtobufError('the protobuf body is cut short', false);
      out.push({ no, wire, value: buf.subarray(at, at + len) });
      at += len;
    } else if (wire === 1 || wire === 5) {
      const len = wire === 1 ? 8 : 4;
      if (at + len > buf.length) throw new ProtobufError('the protobuf body is cut short', false);
      out.push({ no, wire, value: BigInt(buf.readUIntLE(at, Math.min(len, 6))) });
      at += len;
    } else throw new ProtobufError(`the protobuf body has an unknown wire type ${wire}`, false);
  }
  return out;
}

/** True when a value carries nothing: 0, empty bytes, or a message of such values only. */
function isZero(f: Field, depth = 0): boolean {
  if (!Buffer.isBuffer(f.value)) return f.value === 0n;
  if (f.value.length === 0) return true;
  if (depth > 8) return false;
  try {
    return fields(f.value).every((g) => isZero(g, depth + 1));
  } catch {
    return false; // not a message: a non-empty string
  }
}

/** A message's fields: name, type, and whether it repeats. */
type Schema = { readonly name: string; readonly fields: Readonly<Record<number, readonly [name: string, type: FieldType, repeated?: 'repeated']>> };
/**
 * s: string; i: integer (int32/int64), 0 left out (Go's non-pointer fields, always sent); i0: an
 * optional integer (a Go pointer, sent only when set: 0 kept, as a grace period of 0); b: bool; q: a
 * Quantity; t: a Time (RFC 3339); skip: ignored (status); a map of strings or Quantities; a message.
 */
type FieldType = 's' | 'i' | 'i0' | 'b' | 'q' | 't' | 'skip' | { map: 's' | 'q' } | Schema;

const msg = (name: string, f: Schema['fields']): Schema => ({ name, fields: f });

// k8s.io/apimachinery meta/v1 and k8s.io/api field numbers (generated.proto of each group).
const TIME = msg('Time', { 1: ['seconds', 'i'], 2: ['nanos', 'i'] });
const OBJECT_META = msg('ObjectMeta', {
  1: ['name', 's'],
  2: ['generateName', 's'],
  3: ['namespace', 's'],
  8: ['creationTimestamp', 't'],
  11: ['labels', { map: 's' }],
  12: ['annotations', { map: 's' }],
});
const LABEL_SELECTOR = msg('LabelSelector', {
  1: ['matchLabels', { map: 's' }],
  2: ['matchExpressions', msg('LabelSelectorRequirement', { 1: ['key', 's'], 2: ['operator', 's'], 3: ['values', 's', 'repeated'] }), 'repeated'],
});
const CONTAINER = msg('Container', {
  1: ['name', 's'],
  2: ['image', 's'],
  3: ['command', 's', 'repeated'],
  4: ['args', 's', 'repeated'],
  5: ['workingDir', 's'],
  6: ['ports', msg('ContainerPort', { 1: ['name', 's'], 2: ['hostPort', 'i'], 3: ['containerPort', 'i'], 4: ['protocol', 's'], 5: ['hostIP', 's'] }), 'repeated'],
  7: ['env', msg('EnvVar', { 1: ['name', 's'], 2: ['value', 's'] }), 'repeated'],
  8: ['resources', msg('ResourceRequirements', { 1: ['limits', { map: 'q' }], 2: ['requests', { map: 'q' }] })],
  13: ['terminationMessagePath', 's'],
  14: ['imagePullPolicy', 's'],
  20: ['terminationMessagePolicy', 's'],
});
const POD_SPEC = msg('PodSpec', {
  2: ['containers', CONTAINER, 'repeated'],
  3: ['restartPolicy', 's'],
  4: ['terminationGracePeriodSeconds', 'i0'],
  6: ['dnsPolicy', 's'],
  7: ['nodeSelector', { map: 's' }],
  8: ['serviceAccountName', 's'],
  19: ['schedulerName', 's'],
  20: ['initContainers', CONTAINER, 'repeated'],
});
const POD_TEMPLATE = msg('PodTemplateSpec', { 1: ['metadata', OBJECT_META], 2: ['spec', POD_SPEC] });
const POLICY_RULE = msg('PolicyRule', { 1: ['verbs', 's', 'repeated'], 2: ['apiGroups', 's', 'repeated'], 3: ['resources', 's', 'repeated'], 4: ['resourceNames', 's', 'repeated'], 5: ['nonResourceURLs', 's', 'repeated'] });
const SUBJECT = msg('Subject', { 1: ['kind', 's'], 2: ['apiGroup', 's'], 3: ['name', 's'], 4: ['namespace', 's'] });
const ROLE_REF = msg('RoleRef', { 1: ['apiGroup', 's'], 2: ['kind', 's'], 3: ['name', 's'] });
const RESOURCE_ATTRIBUTES = msg('ResourceAttributes', { 1: ['namespace', 's'], 2: ['verb', 's'], 3: ['group', 's'], 4: ['version', 's'], 5: ['resource', 's'], 6: ['subresource', 's'], 7: ['name', 's'] });
const NON_RESOURCE_ATTRIBUTES = msg('NonResourceAttributes', { 1: ['path', 's'], 2: ['verb', 's'] });
const REVIEW_STATUS: FieldType = 'skip';

const role = (name: string) => msg(name, { 1: ['metadata', OBJECT_META], 2: ['rules', POLICY_RULE, 'repeated'] });
const binding = (name: string) => msg(name, { 1: ['metadata', OBJECT_META], 2: ['subjects', SUBJECT, 'repeated'], 3: ['roleRef', ROLE_REF] });

const DELETE_OPTIONS = msg('DeleteOptions', {
  1: ['gracePeriodSeconds', 'i0'],
  2: ['preconditions', msg('Preconditions', { 1: ['uid', 's'], 2: ['resourceVersion', 's'] })],
  3: ['orphanDependents', 'b'],
  4: ['propagationPolicy', 's'],
  5: ['dryRun', 's', 'repeated'],
});

/** The kinds read from protobuf, by "apiVersion kind". */
const KINDS: Readonly<Record<string, Schema>> = {
  // A typed client's delete (kubectl drain) sends its DeleteOptions so.
  'v1 DeleteOptions': DELETE_OPTIONS,
  'meta.k8s.io/v1 DeleteOptions': DELETE_OPTIONS,
  'authorization.k8s.io/v1 SelfSubjectAccessReview': msg('SelfSubjectAccessReview', {
    1: ['metadata', OBJECT_META],
    2: ['spec', msg('SelfSubjectAccessReviewSpec', { 1: ['resourceAttributes', RESOURCE_ATTRIBUTES], 2: ['nonResourceAttributes', NON_RESOURCE_ATTRIBUTES] })],
    3: ['status', REVIEW_STATUS],
  }),
  'authorization.k8s.io/v1 SubjectAccessReview': msg('SubjectAccessReview', {
    1: ['metadata', OBJECT_META],
    2: ['spec', msg('SubjectAccessReviewSpec', { 1: ['resourceAttributes', RESOURCE_ATTRIBUTES], 2: ['nonResourceAttributes', NON_RESOURCE_ATTRIBUTES], 3: ['user', 's'], 4: ['groups', 's', 'repeated'], 6: ['uid', 's'] })],
    3: ['status', REVIEW_STATUS],
  }),
  'authentication.k8s.io/v1 SelfSubjectReview': msg('SelfSubjectReview', { 1: ['metadata', OBJECT_META], 2: ['status', 'skip'] }),
  'authentication.k8s.io/v1 TokenRequest': msg('TokenRequest', {
    1: ['metadata', OBJECT_META],
    2: ['spec', msg('TokenRequestSpec', { 1: ['audiences', 's', 'repeated'], 3: ['boundObjectRef', msg('BoundObjectReference', { 1: ['kind', 's'], 2: ['apiVersion', 's'], 3: ['name', 's'], 4: ['uid', 's'] })], 4: ['expirationSeconds', 'i0'] })],
    3: ['status', 'skip'],
  }),
  'v1 Namespace': msg('Namespace', { 1: ['metadata', OBJECT_META], 2: ['spec', msg('NamespaceSpec', { 1: ['finalizers', 's', 'repeated'] })], 3: ['status', 'skip'] }),
  'v1 ServiceAccount': msg('ServiceAccount', { 1: ['metadata', OBJECT_META] }),
  'apps/v1 Deployment': msg('Deployment', {
    1: ['metadata', OBJECT_META],
    2: [
      'spec',
      msg('DeploymentSpec', {
        1: ['replicas', 'i0'],
        2: ['selector', LABEL_SELECTOR],
        3: ['template', POD_TEMPLATE],
        4: ['strategy', msg('DeploymentStrategy', { 1: ['type', 's'] })],
        5: ['minReadySeconds', 'i'],
        6: ['revisionHistoryLimit', 'i0'],
        7: ['paused', 'b'],
        9: ['progressDeadlineSeconds', 'i0'],
      }),
    ],
    3: ['status', 'skip'],
  }),
  'batch/v1 Job': msg('Job', {
    1: ['metadata', OBJECT_META],
    2: [
      'spec',
      msg('JobSpec', {
        1: ['parallelism', 'i0'],
        2: ['completions', 'i0'],
        3: ['activeDeadlineSeconds', 'i0'],
        4: ['selector', LABEL_SELECTOR],
        5: ['manualSelector', 'b'],
        6: ['template', POD_TEMPLATE],
        7: ['backoffLimit', 'i0'],
        8: ['ttlSecondsAfterFinished', 'i0'],
        9: ['completionMode', 's'],
        10: ['suspend', 'b'],
      }),
    ],
    3: ['status', 'skip'],
  }),
  'rbac.authorization.k8s.io/v1 Role': role('Role'),
  'rbac.authorization.k8s.io/v1 ClusterRole': role('ClusterRole'),
  'rbac.authorization.k8s.io/v1 RoleBinding': binding('RoleBinding'),
  'rbac.authorization.k8s.io/v1 ClusterRoleBinding': binding('ClusterRoleBinding'),
};

const str = (f: Field) => (Buffer.isBuffer(f.value) ? f.value.toString('utf8') : String(f.value));

/** A message's bytes as the JSON object of its schema, zero values left out. */
function decodeMessage(buf: Buffer, schema: Schema, at: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields(buf)) {
    const def = schema.fields[f.no];
    if (!def) {
      if (isZero(f)) continue;
      throw new ProtobufError(`${at}: field ${f.no} of ${schema.name} is not read from protobuf by corelet; send the object as JSON (Content-Type: application/json)`, true);
    }
    const [name, type, repeated] = def;
    // A list keeps its empty strings (a rule's apiGroups [""] is the core group).
    const value = repeated && type === 's' ? str(f) : decodeValue(f, type, `${at}.${name}`);
    if (value === undefined) continue;
    if (repeated) ((out[name] ??= []) as unknown[]).push(value);
    else if (typeof type === 'object' && 'map' in type) out[name] = { ...(out[name] as object | undefined), ...(value as object) };
    else out[name] = value;
  }
  return out;
}

function decodeValue(f: Field, type: FieldType, at: string): unknown {
  if (type === 'skip') return undefined;
  const bytes = () => {
    if (!Buffer.isBuffer(f.value)) throw new ProtobufError(`${at}: expected a length-delimited value`, false);
    return f.value;
  };
  if (type === 's') {
    const s = str(f);
    return s === '' ? undefined : s;
  }
  if (type === 'i' || type === 'i0') {
    if (Buffer.isBuffer(f.value)) throw new ProtobufError(`${at}: expected an integer`, false);
    const n = Number(BigInt.asIntN(64, f.value));
    return n === 0 && type === 'i' ? undefined : n;
  }
  if (type === 'b') return f.value === 0n ? undefined : true;
  if (type === 'q') return decodeMessage(bytes(), msg('Quantity', { 1: ['string', 's'] }), at).string;
  if (type === 't') {
    const t = decodeMessage(bytes(), TIME, at);
    return t.seconds ? new Date((t.seconds as number) * 1000).toISOString().replace('.000Z', 'Z') : undefined;
  }
  if ('map' in type) {
    const entry = decodeMessage(bytes(), msg('map entry', { 1: ['key', 's'], 2: ['value', type.map] }), at);
    return { [String(entry.key ?? '')]: entry.value ?? '' };
  }
  const m = decodeMessage(bytes(), type, at);
  return Object.keys(m).length === 0 ? undefined : m;
}

/** A protobuf body as the JSON object the routes read. */
export function decodeProtobufBody(body: Buffer): unknown {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) throw new ProtobufError('a protobuf body must start with the bytes "k8s\\0"', false);
  let apiVersion = '';
  let kind = '';
  let raw: Buffer | undefined;
  for (const f of fields(body.subarray(4))) {
    if (f.no === 1 && Buffer.isBuffer(f.value)) ({ apiVersion = '', kind = '' } = decodeMessage(f.value, msg('TypeMeta', { 1: ['apiVersion', 's'], 2: ['kind', 's'] }), 'typeMeta') as { apiVersion?: string; kind?: string });
    else if (f.no === 2 && Buffer.isBuffer(f.value)) raw = f.value;
  }
  const schema = KINDS[`${apiVersion} ${kind}`];
  if (!schema) throw new ProtobufError(`corelet reads ${kind || 'this kind'} (${apiVersion || 'no apiVersion'}) as JSON only: send it with Content-Type: application/json`, true);
  return { apiVersion, kind, ...decodeMessage(raw ?? Buffer.alloc(0), schema, kind) };
}
