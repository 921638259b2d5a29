/**
 * Manifests named by -f: a file, a directory (its .yaml, .yml and .json files, sorted by name) or
 * "-" for standard input; and the little the CLI itself reads from them (the scheduler validates
 * them fully): which objects they name, and filling in -n for objects without a namespace.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { Document } from 'yaml';
import { formatBytes, MAX_REQUEST_BODY_BYTES } from '../api/index.js';
import { cliIo } from './io.js';

/** yaml, loaded when a manifest is read (every command of the CLI imports this module). */
const yaml = (): typeof import('yaml') => createRequire(import.meta.url)('yaml');

/** One manifest text and where it came from. */
export interface ManifestSource {
  name: string;
  text: string;
}

const MANIFEST_FILE = /\.(ya?ml|json)$/i;

/** Reads all of standard input. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of cliIo().stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The manifests behind -f values, in order (a directory's files sorted by name). */
export async function readManifests(paths: readonly string[], stdin: () => Promise<string> = readStdin): Promise<ManifestSource[]> {
  if (paths.length === 0) throw new Error('say which manifests: -f FILE, -f DIR or -f - (standard input)');
  const out: ManifestSource[] = [];
  for (const p of paths) {
    if (p === '-') {
      out.push({ name: 'standard input', text: await stdin() });
      continue;
    }
    const info = await stat(p).catch((err: NodeJS.ErrnoException) => {
      throw new Error(err.code === 'ENOENT' ? `${p}: no such file or directory` : `${p}: ${err.message}`);
    });
    if (!info.isDirectory()) {
      out.push({ name: p, text: await readFile(p, 'utf8') });
      continue;
    }
    const entries = (await readdir(p, { withFileTypes: true })).filter((e) => e.isFile() && MANIFEST_FILE.test(e.name)).map((e) => e.name).sort();
    if (entries.length === 0) throw new Error(`${p}: no manifests in this directory (looking for .yaml, .yml and .json files)`);
    for (const name of entries) out.push({ name: join(p, name), text: await readFile(join(p, name), 'utf8') });
  }
  return out;
}

function documents(text: string, source: string): Document[] {
  const { isScalar, parseAllDocuments } = yaml();
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [];
  for (const d of list) {
    if (d.errors.length > 0) throw new Error(`${source}: not valid YAML: ${d.errors[0].message}`);
  }
  // Empty documents (a trailing ---, comments only) name nothing.
  return list.filter((d) => d.contents !== null && !(isScalar(d.contents) && d.contents.value === null));
}

/**
 * The text with metadata.namespace set to namespace on every object that has none (items of a
 * List too). An object naming another namespace is an error, as in kubectl.
 */
export function setNamespace(text: string, namespace: string, source: string): string {
  const docs = documents(text, source);
  const { isMap, isSeq } = yaml();
  for (const doc of docs) {
    const nodes = doc.get('kind') === 'List' && isSeq(doc.get('items')) ? (doc.get('items') as { items: unknown[] }).items : [doc.contents];
    for (const node of nodes) {
      if (!isMap(node)) continue;
      const current = node.getIn(['metadata', 'namespace']);
      if (current === undefined || current === null || current === '') {
        if (!isMap(node.get('metadata'))) continue; // no metadata: the scheduler reports it
        node.setIn(['metadata', 'namespace'], namespace);
      } else if (current !== namespace) {
        throw new Error(`${source}: ${String(node.get('kind'))} "${String(node.getIn(['metadata', 'name']))}" is in namespace "${String(current)}", which does not match -n ${namespace}`);
      }
    }
  }
  // Each document is printed without its own start marker; one --- goes between them.
  return docs.map((d) => d.toString().replace(/^---[ \t]*\n/, '')).join('---\n');
}

/** An object a manifest names. */
export interface ObjectRef {
  kind: string;
  name: string;
  /** As written; undefined when the manifest gives none. */
  namespace?: string;
}

/** The objects a manifest names (kind, name, namespace), List items included. */
export function objectRefs(text: string, source: string): ObjectRef[] {
  const refs: ObjectRef[] = [];
  const add = (obj: unknown, where: string) => {
    const o = obj as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } } | null;
    if (typeof o?.kind !== 'string' || typeof o.metadata?.name !== 'string') throw new Error(`${source}: ${where} needs a kind and metadata.name`);
    refs.push({ kind: o.kind, name: o.metadata.name, ...(typeof o.metadata.namespace === 'string' && o.metadata.namespace ? { namespace: o.metadata.namespace } : {}) });
  };
  documents(text, source).forEach((doc, i) => {
    const value = doc.toJS() as { kind?: unknown; items?: unknown };
    if (value?.kind === 'List' && Array.isArray(value.items)) value.items.forEach((item, j) => add(item, `document ${i + 1}, item ${j + 1}`));
    else add(value, `document ${i + 1}`);
  });
  return refs;
}

/**
 * Refuses a manifest the scheduler would refuse for its size (413), before sending it: `apply` sends
 * each file as one request, and the scheduler reads at most {@link MAX_REQUEST_BODY_BYTES}.
 */
export function checkRequestSize(src: ManifestSource): void {
  const bytes = Buffer.byteLength(src.text);
  if (bytes > MAX_REQUEST_BODY_BYTES) {
    throw new Error(`${src.name} is ${formatBytes(bytes)}, over the scheduler's limit of ${formatBytes(MAX_REQUEST_BODY_BYTES)} per request (one file is one request): split it into several files`);
  }
}
