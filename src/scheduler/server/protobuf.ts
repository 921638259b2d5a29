/**
 * Request bodies in Kubernetes' protobuf encoding (Content-Type: application/vnd.kubernetes.protobuf),
 * which kubectl's typed clients send (`kubectl auth can-i` posts a SelfSubjectAccessReview so). The
 * API answers JSON (these clients accept it); the bodies it can read this way are the access reviews,
 * turned into the JSON object the JSON route reads. Any other kind is refused with 415, naming JSON.
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
    if (wire === 0) out.push({ no, wire, value: varint() });
    else if (wire === 2) {
      const len = Number(varint());
      if (at + len > buf.length) throw new ProtobufError('the protobuf body is cut short', false);
      out.push({ no, wire, value: buf.subarray(at, at + len) });
      at += len;
    } else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else throw new ProtobufError(`the protobuf body has an unknown wire type ${wire}`, false);
  }
  return out;
}

const str = (f: Field) => (Buffer.isBuffer(f.value) ? f.value.toString('utf8') : String(f.value));

/** A message whose string fields are named by number; repeated ones become lists. */
function strings(buf: Buffer, names: Record<number, string>, repeated: readonly string[] = []): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields(buf)) {
    const name = names[f.no];
    if (!name || !Buffer.isBuffer(f.value)) continue;
    if (repeated.includes(name)) ((out[name] ??= []) as string[]).push(str(f));
    else out[name] = str(f);
  }
  return out;
}

// authorization.k8s.io/v1 field numbers (k8s.io/api/authorization/v1/generated.proto).
const RESOURCE_ATTRIBUTES = { 1: 'namespace', 2: 'verb', 3: 'group', 4: 'version', 5: 'resource', 6: 'subresource', 7: 'name' };
const NON_RESOURCE_ATTRIBUTES = { 1: 'path', 2: 'verb' };

/** A (Self)SubjectAccessReview's spec message as its JSON shape. */
function reviewSpec(buf: Buffer, self: boolean): Record<string, unknown> {
  const spec: Record<string, unknown> = {};
  for (const f of fields(buf)) {
    if (!Buffer.isBuffer(f.value)) continue;
    if (f.no === 1) spec.resourceAttributes = strings(f.value, RESOURCE_ATTRIBUTES);
    else if (f.no === 2) spec.nonResourceAttributes = strings(f.value, NON_RESOURCE_ATTRIBUTES);
    else if (!self && f.no === 3) spec.user = str(f);
    else if (!self && f.no === 4) ((spec.groups ??= []) as string[]).push(str(f));
    else if (!self && f.no === 6) spec.uid = str(f);
  }
  return spec;
}

/** The kinds read from protobuf: their spec is field 2 of the object's message. */
const READABLE: Record<string, (spec: Buffer) => Record<string, unknown>> = {
  'authorization.k8s.io/v1 SelfSubjectAccessReview': (b) => reviewSpec(b, true),
  'authorization.k8s.io/v1 SubjectAccessReview': (b) => reviewSpec(b, false),
};

/** A protobuf body as the JSON object the routes read. */
export function decodeProtobufBody(body: Buffer): unknown {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) throw new ProtobufError('a protobuf body must start with the bytes "k8s\\0"', false);
  let apiVersion = '';
  let kind = '';
  let raw: Buffer | undefined;
  for (const f of fields(body.subarray(4))) {
    if (f.no === 1 && Buffer.isBuffer(f.value)) ({ apiVersion = '', kind = '' } = strings(f.value, { 1: 'apiVersion', 2: 'kind' }) as { apiVersion?: string; kind?: string });
    else if (f.no === 2 && Buffer.isBuffer(f.value)) raw = f.value;
  }
  const read = READABLE[`${apiVersion} ${kind}`];
  if (!read) throw new ProtobufError(`corelet reads ${kind || 'this kind'} (${apiVersion || 'no apiVersion'}) as JSON only: send it with Content-Type: application/json`, true);
  const specField = fields(raw ?? Buffer.alloc(0)).find((f) => f.no === 2 && Buffer.isBuffer(f.value));
  return { apiVersion, kind, spec: specField ? read(specField.value as Buffer) : {} };
}
