/**
 * The scheduler's persistent store: Kubernetes-shaped objects, events and a few settings in one SQLite
 * file (WAL; synchronous=FULL unless opened with NORMAL, as `corelet scheduler` does by default, see
 * --sqlite-synchronous), so a scheduler killed with SIGKILL and restarted loses no committed object or
 * binding. Every write is one transaction that also advances a global resourceVersion;
 * watch listeners hear about changes only after their transaction commits, in commit order.
 *
 * better-sqlite3 is synchronous: a method returning means its transaction is in the WAL (and, with
 * FULL, fsynced).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomUUID, randomInt } from 'node:crypto';
import Database from 'better-sqlite3';
import {
  CoreletError,
  alreadyExists,
  failedPrecondition,
  invalidArgument,
  notFound,
  unavailable,
  internal,
  silentLogger,
  errnoCode,
  wrap,
  type Logger,
  messageOf,
} from '../../lib/index.js';
import { labelsMatch, type LabelRequirement, type ObjectEvent } from '../../api/index.js';
import { API_VERSIONS, type ObjectInput, type StoreKind, type Stored, type StoredObject, type WatchChange } from './kinds.js';
import {
  MAX_OBJECT_BYTES,
  checkEvent,
  checkKind,
  checkName,
  checkNamespace,
  checkNodeName,
  checkObject,
  jsonEqual,
  podNodeName,
} from './validate.js';
import { MIGRATIONS, RESERVED_META_KEYS, SCHEMA_VERSION } from './schema.js';

/** Options of {@link Store.open}. */
export interface StoreOptions {
  /**
   * SQLite's synchronous setting. FULL (default) fsyncs the WAL on every commit, so commits survive a
   * power cut too; NORMAL survives a killed process but may lose the last commits on power loss.
   */
  synchronous?: 'FULL' | 'NORMAL';
  /** How many events to keep (default 1000); the least recently recorded go first. */
  eventLimit?: number;
  /** Clock for creationTimestamp (tests). */
  now?: () => Date;
  /** Where listener failures are reported. */
  logger?: Logger;
}

/** Filters of {@link Store.list}; all given ones must match. */
export interface ListOptions {
  /** Only this namespace (omit for all namespaces). */
  namespace?: string;
  /** Label selector: every requirement holds (api/label-selector.ts). */
  labelSelector?: readonly LabelRequirement[];
  /** Pods only: those bound to this node, or with '' the unbound ones. */
  nodeName?: string;
  /** Only objects with an ownerReference to this uid. */
  ownerUid?: string;
  /** Only objects after this one in the list's order (namespace, then name): where a chunked list goes on. */
  after?: { namespace: string; name: string };
  /** At most this many (after every filter, label selector included). */
  limit?: number;
}

/** Filters of {@link Store.listEvents}. */
export interface EventListOptions {
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  /** At most this many, the most recent ones. */
  limit?: number;
}

interface ObjectRow {
  body: string;
  resource_version: number;
}

type Listener = (change: WatchChange) => void;

const DEFAULT_EVENT_LIMIT = 1000;
/** Characters Kubernetes uses for generateName suffixes (no vowels, no look-alikes). */
const NAME_SUFFIX_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

/** A ResourceVersion string as stored: a positive decimal integer. */
function parseResourceVersion(rv: unknown, ref: string): number {
  if (typeof rv !== 'string' || !/^[1-9][0-9]*$/.test(rv)) {
    throw invalidArgument(`${ref}: resourceVersion must be a positive decimal string, got ${JSON.stringify(rv)}`);
  }
  return Number(rv);
}

/** RFC 3339 in whole seconds, as the API server writes metadata timestamps. */
function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const child of Object.values(v)) deepFreeze(child);
    Object.freeze(v);
  }
  return v;
}

/**
 * A watch change whose object is parsed (and frozen) only when a listener reads it: most listeners
 * look at kind and type first, and parsing and freezing every written object for them would cost
 * more than the write itself.
 */
function lazyChange(type: WatchChange['type'], kind: WatchChange['kind'], body: string, resourceVersion?: number, namespace?: string): WatchChange {
  let object: unknown;
  const change = (resourceVersion === undefined ? { type, kind } : { type, kind, resourceVersion: String(resourceVersion) }) as WatchChange;
  Object.defineProperty(change, 'object', { enumerable: true, get: () => (object ??= deepFreeze(JSON.parse(body))) });
  Object.defineProperty(change, 'json', { value: body });
  if (namespace !== undefined) Object.defineProperty(change, 'namespace', { value: namespace });
  return change;
}

/** The distinct owner uids in an object's metadata.ownerReferences (validated by checkObject). */
function ownerUids(obj: { metadata?: { ownerReferences?: readonly { uid: string }[] } }): string[] {
  const refs = obj.metadata?.ownerReferences;
  if (!refs || refs.length === 0) return [];
  return [...new Set(refs.map((r) => r.uid))];
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function refOf(kind: string, namespace: string, name: string): string {
  return namespace ? `${kind} ${namespace}/${name}` : `${kind} ${name}`;
}

/**
 * SQLite errors into the error module: a held write lock is Unavailable, the rest Internal. Other
 * errors pass through unchanged.
 */
function storeError(err: unknown, context: string): unknown {
  if (!(err instanceof Database.SqliteError)) return err; // ours, or thrown by a caller's function
  const code = errnoCode(err) ?? '';
  const message = messageOf(err);
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return unavailable(`${context}: the store is locked by another process: ${message}`, err);
  }
  return internal(`${context}: ${message}`, err);
}

/** The scheduler's store; see the module comment. Open with {@link Store.open}. */
export class Store {
  private readonly listeners = new Set<Listener>();
  /** Changes of the transaction in progress (undefined outside one), delivered after commit. */
  private pending: WatchChange[] | undefined;
  /** Committed changes not yet delivered; a listener that writes appends here, keeping order. */
  private readonly outbox: WatchChange[] = [];
  private delivering = false;
  private readonly runTransaction: Database.Transaction<(fn: () => unknown) => unknown>;
  private readonly stmt;
  /** list/listEvents queries by SQL text: there are few shapes, and preparing costs more than running. */
  private readonly queries = new Map<string, Database.Statement<unknown[], string>>();
  private readonly pagedQueries = new Map<string, Database.Statement<unknown[], { body: string; namespace: string; name: string }>>();
  private readonly eventLimit: number;
  private readonly now: () => Date;
  private readonly logger: Logger;

  private constructor(
    private readonly db: Database.Database,
    /** The database file this store was opened from. */
    readonly path: string,
    opts: StoreOptions,
  ) {
    this.eventLimit = opts.eventLimit ?? DEFAULT_EVENT_LIMIT;
    this.now = opts.now ?? (() => new Date());
    this.logger = opts.logger ?? silentLogger;
    this.runTransaction = db.transaction((fn: () => unknown) => {
      const result = fn();
      // Committing before an await would split the work in two; refuse instead (rolls back).
      if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') {
        throw invalidArgument('store transactions must be synchronous: the function returned a promise');
      }
      return result;
    });
    this.stmt = {
      get: db.prepare<[string, string, string], ObjectRow>(
        'SELECT body, resource_version FROM objects WHERE kind = ? AND namespace = ? AND name = ?',
      ),
      byUid: db.prepare<[string], { kind: string; namespace: string; name: string }>(
        'SELECT kind, namespace, name FROM objects WHERE uid = ?',
      ),
      insert: db.prepare<[string, string, string, string, number, string, string]>(
        'INSERT INTO objects (kind, namespace, name, uid, resource_version, node_name, body) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      replace: db.prepare<[number, string, string, string, string, string]>(
        'UPDATE objects SET resource_version = ?, node_name = ?, body = ? WHERE kind = ? AND namespace = ? AND name = ?',
      ),
      remove: db.prepare<[string, string, string]>('DELETE FROM objects WHERE kind = ? AND namespace = ? AND name = ?'),
      nextRv: db
        .prepare<[], string>(
          "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'resource_version' RETURNING value",
        )
        .pluck(),
      metaGet: db.prepare<[string], string>('SELECT value FROM meta WHERE key = ?').pluck(),
      metaSet: db.prepare<[string, string]>('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      metaDelete: db.prepare<[string]>('DELETE FROM meta WHERE key = ?'),
      eventByKey: db.prepare<[string], string>('SELECT body FROM events WHERE dedup_key = ?').pluck(),
      eventDelete: db.prepare<[string]>('DELETE FROM events WHERE dedup_key = ?'),
      eventInsert: db.prepare<[string, string, string, string, string, string]>(
        'INSERT INTO events (dedup_key, involved_kind, involved_namespace, involved_name, involved_uid, body) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      // The oldest ids beyond the limit (none while under it; a negative LIMIT would mean all):
      // only those rows are visited, not every row compared with a list of the newest ones.
      eventTrim: db.prepare<[number]>(
        'DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT max(0, (SELECT count(*) FROM events) - ?))',
      ),
      ownerInsert: db.prepare<[string, string, string, string]>(
        'INSERT OR IGNORE INTO owner_refs (owner_uid, kind, namespace, name) VALUES (?, ?, ?, ?)',
      ),
      ownerDelete: db.prepare<[string, string, string]>('DELETE FROM owner_refs WHERE kind = ? AND namespace = ? AND name = ?'),
    };
  }

  /**
   * Opens (creating if needed, with its parent directory) the store at `path`, or an in-memory one
   * for ':memory:'. Fails with FailedPrecondition when the file was written by a newer schema.
   */
  static open(path: string, opts: StoreOptions = {}): Store {
    if (opts.eventLimit !== undefined && (!Number.isInteger(opts.eventLimit) || opts.eventLimit < 1)) {
      throw invalidArgument('eventLimit must be a positive integer');
    }
    const memory = path === ':memory:';
    let db: Database.Database;
    try {
      if (!memory) mkdirSync(dirname(path), { recursive: true });
      db = new Database(path);
    } catch (err) {
      const e = storeError(err, `opening store ${path}`);
      throw e instanceof CoreletError ? e : wrap(e, `opening store ${path}`);
    }
    try {
      db.pragma('busy_timeout = 5000');
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (!memory && mode !== 'wal') throw unavailable(`store ${path}: SQLite refused WAL mode (journal_mode is ${String(mode)})`);
      db.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`);
      db.pragma('foreign_keys = ON');
      migrate(db, path);
      return new Store(db, path, opts);
    } catch (err) {
      db.close();
      throw storeError(err, `opening store ${path}`);
    }
  }

  /** Closes the database; listeners are dropped. Safe to call twice. */
  close(): void {
    this.listeners.clear();
    if (this.db.open) this.db.close();
  }

  /**
   * Runs fn in one transaction (nested calls become savepoints): all its writes commit together or
   * none do, and watch listeners hear of them only after the outermost commit. fn must be
   * synchronous.
   */
  transaction<T>(fn: () => T): T {
    this.ensureOpen();
    const outermost = this.pending === undefined;
    const pending = (this.pending ??= []);
    const mark = pending.length;
    let result: T;
    try {
      result = this.runTransaction.immediate(fn) as T;
    } catch (err) {
      pending.length = mark;
      if (outermost) this.pending = undefined;
      throw storeError(err, 'store transaction');
    }
    if (outermost) {
      this.pending = undefined;
      this.deliver(pending);
    }
    return result;
  }

  /** The object, or undefined. */
  get<T = StoredObject>(kind: StoreKind, namespace: string, name: string): T | undefined {
    this.ensureOpen();
    const k = checkKind(kind);
    checkNamespace(k, namespace);
    const row = this.stmt.get.get(k, namespace, name);
    return row ? (JSON.parse(row.body) as T) : undefined;
  }

  /** Objects of a kind, ordered by namespace then name. */
  list<T = StoredObject>(kind: StoreKind, opts: ListOptions = {}): T[] {
    this.ensureOpen();
    const k = checkKind(kind);
    // With an owner, owner_refs leads (only the owned rows are read); the object columns get the
    // table's alias either way so the other filters read the same.
    const owned = opts.ownerUid !== undefined;
    const where = owned ? ['r.owner_uid = ?', 'r.kind = ?'] : ['o.kind = ?'];
    const params: string[] = owned ? [opts.ownerUid!, k] : [k];
    if (opts.namespace !== undefined) {
      checkNamespace(k, opts.namespace);
      where.push(owned ? 'r.namespace = ?' : 'o.namespace = ?');
      params.push(opts.namespace);
    }
    if (opts.nodeName !== undefined) {
      if (k !== 'Pod') throw invalidArgument(`list ${k}: the nodeName filter applies to Pods only`);
      where.push('o.node_name = ?');
      params.push(opts.nodeName);
    }
    const from = owned
      ? 'owner_refs r JOIN objects o ON o.kind = r.kind AND o.namespace = r.namespace AND o.name = r.name'
      : 'objects o';
    const order = owned ? 'r.namespace, r.name' : 'o.namespace, o.name';
    const selector = opts.labelSelector ?? [];
    const out: T[] = [];
    const keep = (rows: string[]) => {
      for (const body of rows) {
        const obj = JSON.parse(body) as StoredObject;
        if (selector.length > 0 && !labelsMatch(selector, obj.metadata.labels)) continue;
        out.push(obj as T);
        if (out.length === opts.limit) break;
      }
    };
    if (opts.limit === undefined && opts.after === undefined) {
      keep(this.query(`SELECT o.body FROM ${from} WHERE ${where.join(' AND ')} ORDER BY ${order}`).all(...params));
      return out;
    }
    if (opts.limit !== undefined && (!Number.isInteger(opts.limit) || opts.limit < 1)) throw invalidArgument(`list ${k}: limit must be a positive integer`);
    // A chunk: rows after the last key, read in batches until enough pass the label selector.
    const batch = Math.max(opts.limit ?? 0, 256);
    const sql = `SELECT o.body, o.namespace, o.name FROM ${from} WHERE ${[...where, `(${order}) > (?, ?)`].join(' AND ')} ORDER BY ${order} LIMIT ?`;
    let stmt = this.pagedQueries.get(sql);
    if (!stmt) this.pagedQueries.set(sql, (stmt = this.db.prepare<unknown[], { body: string; namespace: string; name: string }>(sql)));
    let after = opts.after ?? { namespace: '', name: '' };
    for (;;) {
      const rows = stmt.all(...params, after.namespace, after.name, batch);
      keep(rows.map((r) => r.body));
      if (out.length === opts.limit || rows.length < batch) return out;
      const last = rows[rows.length - 1];
      after = { namespace: last.namespace, name: last.name };
    }
  }

  /** How many objects of a kind there are (in a namespace, after a key in list order). */
  count(kind: StoreKind, opts: { namespace?: string; after?: { namespace: string; name: string } } = {}): number {
    this.ensureOpen();
    const k = checkKind(kind);
    const where = ['kind = ?'];
    const params: string[] = [k];
    if (opts.namespace !== undefined) {
      checkNamespace(k, opts.namespace);
      where.push('namespace = ?');
      params.push(opts.namespace);
    }
    if (opts.after) {
      where.push('(namespace, name) > (?, ?)');
      params.push(opts.after.namespace, opts.after.name);
    }
    return Number(this.query(`SELECT count(*) FROM objects WHERE ${where.join(' AND ')}`).get(...params));
  }

  /**
   * Stores a new object and returns it as stored. Generates its uid (a given metadata.uid is ignored,
   * as kube-apiserver does: agents use it as a folder name and owners match on it), creationTimestamp,
   * generation 1, resourceVersion, apiVersion/kind, empty labels/annotations; a missing name is made
   * from metadata.generateName plus a random suffix. AlreadyExists when the name or uid is taken.
   */
  create<T extends ObjectInput>(kind: StoreKind, obj: T): Stored<T> {
    const k = checkKind(kind);
    if (typeof obj !== 'object' || obj === null || typeof obj.metadata !== 'object' || obj.metadata === null) {
      throw invalidArgument(`create ${k}: the object needs metadata`);
    }
    const m = obj.metadata;
    const namespace = checkNamespace(k, m.namespace ?? '');
    return this.transaction(() => {
      const name = m.name === undefined || m.name === '' ? this.generateName(k, namespace, m.generateName) : checkName(k, m.name);
      const ref = refOf(k, namespace, name);
      checkObject(k, obj, ref);
      if (this.stmt.get.get(k, namespace, name)) throw alreadyExists(`${ref} already exists`);
      const uid = randomUUID();
      const holder = this.stmt.byUid.get(uid);
      if (holder) throw alreadyExists(`${ref}: uid ${uid} is already used by ${refOf(holder.kind, holder.namespace, holder.name)}`);
      const rv = this.nextResourceVersion();
      const { apiVersion, kind: _kind, metadata: _metadata, ...rest } = obj;
      // A new object is never being deleted: Kubernetes clears both fields on create (BeforeCreate).
      const { deletionTimestamp: _dt, deletionGracePeriodSeconds: _dg, ...createdMeta } = m as typeof m & { deletionTimestamp?: unknown; deletionGracePeriodSeconds?: unknown };
      if (Array.isArray((createdMeta as { managedFields?: unknown }).managedFields) && (createdMeta as { managedFields: unknown[] }).managedFields.length === 0) {
        delete (createdMeta as { managedFields?: unknown }).managedFields;
      }
      const stored = {
        apiVersion: apiVersion ?? API_VERSIONS[k],
        kind: k,
        metadata: {
          ...createdMeta,
          name,
          namespace,
          uid,
          labels: m.labels ?? {},
          annotations: m.annotations ?? {},
          creationTimestamp: rfc3339(this.now()),
          generation: 1,
          resourceVersion: String(rv),
        },
        ...rest,
      } as unknown as Stored<T>;
      const body = this.serialize(stored, ref);
      this.stmt.insert.run(k, namespace, name, uid, rv, k === 'Pod' ? podNodeName(stored) : '', body);
      for (const owner of ownerUids(stored)) this.stmt.ownerInsert.run(owner, k, namespace, name);
      return this.changed('ADDED', k, body, rv, namespace) as Stored<T>;
    });
  }

  /**
   * Replaces an existing object. With expectedResourceVersion (or else obj.metadata.resourceVersion)
   * the write happens only if the stored object still has that version: FailedPrecondition otherwise
   * (re-read and retry). uid and creationTimestamp are kept; generation grows when spec changes; a
   * Pod's spec.nodeName cannot change here (use bindPod). An update that changes nothing writes
   * nothing and returns the stored object.
   */
  update<T extends ObjectInput>(kind: StoreKind, obj: T, expectedResourceVersion?: string): Stored<T> {
    const k = checkKind(kind);
    if (typeof obj !== 'object' || obj === null || typeof obj.metadata !== 'object' || obj.metadata === null) {
      throw invalidArgument(`update ${k}: the object needs metadata`);
    }
    const namespace = checkNamespace(k, obj.metadata.namespace ?? '');
    const name = checkName(k, obj.metadata.name);
    const ref = refOf(k, namespace, name);
    checkObject(k, obj, ref);
    const expected = expectedResourceVersion ?? obj.metadata.resourceVersion;
    const expectedRv = expected === undefined || expected === '' ? undefined : parseResourceVersion(expected, ref);
    return this.transaction(() => {
      const row = this.stmt.get.get(k, namespace, name);
      if (!row) throw notFound(`${ref} not found`);
      if (expectedRv !== undefined && expectedRv !== row.resource_version) {
        throw failedPrecondition(
          `${ref} has been modified (resourceVersion ${row.resource_version}, expected ${expectedRv}): read it again and retry`,
        );
      }
      const current = JSON.parse(row.body) as StoredObject;
      if (obj.metadata.uid !== undefined && obj.metadata.uid !== current.metadata.uid) {
        throw failedPrecondition(`${ref}: uid ${obj.metadata.uid} does not match the stored object's ${current.metadata.uid}`);
      }
      if (k === 'Pod' && podNodeName(obj) !== podNodeName(current)) {
        throw invalidArgument(`${ref}: spec.nodeName cannot be changed by an update (it is "${podNodeName(current)}"); bind with bindPod`);
      }
      const specChanged = !jsonEqual((obj as { spec?: unknown }).spec, current.spec);
      const { apiVersion, kind: _kind, metadata: _metadata, ...rest } = obj;
      const next = {
        apiVersion: apiVersion ?? current.apiVersion,
        kind: k,
        metadata: {
          ...obj.metadata,
          name,
          namespace,
          uid: current.metadata.uid,
          labels: obj.metadata.labels ?? {},
          annotations: obj.metadata.annotations ?? {},
          creationTimestamp: current.metadata.creationTimestamp,
          generation: current.metadata.generation + (specChanged ? 1 : 0),
          resourceVersion: current.metadata.resourceVersion,
          // Graceful deletion cannot be undone by an update (as in Kubernetes): once set, it stays.
          ...(current.metadata.deletionTimestamp
            ? {
                deletionTimestamp: obj.metadata.deletionTimestamp ?? current.metadata.deletionTimestamp,
                deletionGracePeriodSeconds: (obj.metadata as { deletionGracePeriodSeconds?: number }).deletionGracePeriodSeconds ?? current.metadata.deletionGracePeriodSeconds,
              }
            : {}),
        },
        ...rest,
      } as unknown as StoredObject;
      // managedFields (server-side apply's bookkeeping, set by the API): an update without them keeps
      // the stored ones (controllers write objects they built), an empty list clears them, as in Kubernetes.
      const managed = (obj.metadata as { managedFields?: unknown }).managedFields;
      const nextMeta = next.metadata as { managedFields?: unknown };
      if (managed === undefined && (current.metadata as { managedFields?: unknown }).managedFields !== undefined) nextMeta.managedFields = (current.metadata as { managedFields?: unknown }).managedFields;
      else if (Array.isArray(managed) && managed.length === 0) delete nextMeta.managedFields;
      if (jsonEqual(next, current)) return current as Stored<T>;
      return this.write(k, next, ref, current) as Stored<T>;
    });
  }

  /**
   * Read-modify-write in one transaction: fn gets a copy of the stored object and changes it in
   * place (or returns a replacement); the result is stored as by update, never conflicting.
   * NotFound when absent.
   */
  mutate<T = StoredObject>(kind: StoreKind, namespace: string, name: string, fn: (obj: Stored<T>) => Stored<T> | void): Stored<T> {
    return this.transaction(() => {
      const current = this.get<Stored<T>>(kind, namespace, name);
      if (!current) throw notFound(`${refOf(kind, namespace, name)} not found`);
      const rv = current.metadata.resourceVersion;
      const next: ObjectInput = fn(current) ?? current;
      return this.update(kind, next, rv) as Stored<T>;
    });
  }

  /**
   * Deletes an object and returns it (its resourceVersion set to the deletion's), or undefined when
   * there was none. With expectedResourceVersion, FailedPrecondition if it has changed since.
   */
  delete<T = StoredObject>(kind: StoreKind, namespace: string, name: string, expectedResourceVersion?: string): T | undefined {
    const k = checkKind(kind);
    checkNamespace(k, namespace);
    const ref = refOf(k, namespace, name);
    const expectedRv = expectedResourceVersion === undefined ? undefined : parseResourceVersion(expectedResourceVersion, ref);
    return this.transaction(() => {
      const row = this.stmt.get.get(k, namespace, name);
      if (!row) return undefined;
      if (expectedRv !== undefined && expectedRv !== row.resource_version) {
        throw failedPrecondition(`${ref} has been modified (resourceVersion ${row.resource_version}, expected ${expectedRv}): not deleted`);
      }
      this.stmt.remove.run(k, namespace, name);
      this.stmt.ownerDelete.run(k, namespace, name);
      const obj = JSON.parse(row.body) as StoredObject;
      const rv = this.nextResourceVersion();
      obj.metadata.resourceVersion = String(rv);
      return this.changed('DELETED', k, JSON.stringify(obj), rv, namespace) as T;
    });
  }

  /**
   * Binds an unbound Pod to a node: sets spec.nodeName, atomically. NotFound when the pod is absent;
   * FailedPrecondition when it is already bound (even to the same node), is being deleted, or its uid
   * differs from expectedUid (the pod was recreated since the decision). Returns the bound pod.
   */
  bindPod<T = StoredObject>(namespace: string, name: string, nodeName: string, expectedUid?: string): T {
    checkNamespace('Pod', namespace);
    const ref = refOf('Pod', namespace, name);
    checkNodeName(nodeName, ref);
    return this.transaction(() => {
      const row = this.stmt.get.get('Pod', namespace, name);
      if (!row) throw notFound(`${ref} not found`);
      const pod = JSON.parse(row.body) as StoredObject & { spec?: { nodeName?: string } };
      if (expectedUid !== undefined && pod.metadata.uid !== expectedUid) {
        throw failedPrecondition(`${ref}: uid is ${pod.metadata.uid}, not ${expectedUid} (recreated since it was scheduled)`);
      }
      const bound = podNodeName(pod);
      if (bound !== '') throw failedPrecondition(`${ref} is already bound to node ${bound}`);
      if (pod.metadata.deletionTimestamp) throw failedPrecondition(`${ref} is being deleted and cannot be bound`);
      pod.spec = { ...pod.spec, nodeName };
      return this.write('Pod', pod, ref, pod) as T;
    });
  }

  /**
   * Stores an event. A repeat of a stored one (same involved object, type, reason, message and
   * source) updates it instead: its count grows by one when the incoming count is 1 (a new
   * occurrence), else becomes the larger of the two (an already-counted event forwarded again, as
   * agents send them); firstTimestamp is kept. Beyond the limit, the least recently recorded go.
   */
  recordEvent(event: ObjectEvent): ObjectEvent {
    const e = checkEvent(event);
    const io = e.involvedObject;
    const key = JSON.stringify([io.kind, io.namespace ?? '', io.name, io.uid ?? '', e.type, e.reason, e.message, e.source?.component ?? '', e.source?.host ?? '']);
    return this.transaction(() => {
      const previousBody = this.stmt.eventByKey.get(key);
      let stored = e;
      if (previousBody !== undefined) {
        const previous = JSON.parse(previousBody) as ObjectEvent;
        stored = {
          ...e,
          firstTimestamp: previous.firstTimestamp,
          count: e.count <= 1 ? previous.count + 1 : Math.max(previous.count, e.count),
        };
        this.stmt.eventDelete.run(key);
      }
      const body = JSON.stringify(stored);
      this.stmt.eventInsert.run(key, io.kind, io.namespace ?? '', io.name, io.uid ?? '', body);
      this.stmt.eventTrim.run(this.eventLimit);
      if (this.listeners.size > 0) this.pending?.push(lazyChange(previousBody === undefined ? 'ADDED' : 'MODIFIED', 'Event', body));
      return stored;
    });
  }

  /** Stored events, least recently recorded first. */
  listEvents(opts: EventListOptions = {}): ObjectEvent[] {
    this.ensureOpen();
    const where: string[] = [];
    const params: (string | number)[] = [];
    for (const [column, value] of [
      ['involved_kind', opts.kind],
      ['involved_namespace', opts.namespace],
      ['involved_name', opts.name],
      ['involved_uid', opts.uid],
    ] as const) {
      if (value !== undefined) {
        where.push(`${column} = ?`);
        params.push(value);
      }
    }
    let sql = `SELECT body FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC`;
    if (opts.limit !== undefined) {
      if (!Number.isInteger(opts.limit) || opts.limit < 0) throw invalidArgument('listEvents: limit must be a non-negative integer');
      sql += ' LIMIT ?';
      params.push(opts.limit);
    }
    const rows = this.query(sql).all(...params);
    return rows.reverse().map((body) => JSON.parse(body) as ObjectEvent);
  }

  /**
   * Subscribes to committed changes (objects and events), delivered synchronously after each commit
   * in commit order. Objects are frozen. A throwing listener is logged and skipped. Returns the
   * unsubscribe function.
   */
  watch(listener: Listener): () => void {
    this.ensureOpen();
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** The resourceVersion of the latest write (a list taken now is consistent as of it). */
  resourceVersion(): string {
    this.ensureOpen();
    return this.stmt.metaGet.get('resource_version') ?? '0';
  }

  /** How the database is set up, for status output and tests. */
  diagnostics(): { path: string; journalMode: string; synchronous: string; schemaVersion: number; resourceVersion: string } {
    this.ensureOpen();
    const synchronous = ['OFF', 'NORMAL', 'FULL', 'EXTRA'][Number(this.db.pragma('synchronous', { simple: true }))] ?? 'unknown';
    return {
      path: this.path,
      journalMode: String(this.db.pragma('journal_mode', { simple: true })),
      synchronous,
      schemaVersion: Number(this.stmt.metaGet.get('schema_version')),
      resourceVersion: this.resourceVersion(),
    };
  }

  /** A setting (bootstrap token hash, CA paths...), or undefined. */
  getMeta(key: string): string | undefined {
    this.ensureOpen();
    return this.stmt.metaGet.get(key);
  }

  /** Sets a setting, or removes it with undefined. The store's own keys are refused. */
  setMeta(key: string, value: string | undefined): void {
    if (typeof key !== 'string' || key === '') throw invalidArgument('meta key must be a non-empty string');
    if (RESERVED_META_KEYS.has(key)) throw invalidArgument(`meta key "${key}" belongs to the store`);
    if (value !== undefined && typeof value !== 'string') throw invalidArgument(`meta "${key}": value must be a string`);
    this.transaction(() => (value === undefined ? this.stmt.metaDelete.run(key) : this.stmt.metaSet.run(key, value)));
  }

  /**
   * Writes obj over the existing row (previous: the row's object) under a new resourceVersion;
   * returns it as stored.
   */
  private write(kind: StoreKind, obj: StoredObject, ref: string, previous: StoredObject): StoredObject {
    const owners = ownerUids(obj);
    const previousOwners = ownerUids(previous);
    const rv = this.nextResourceVersion();
    obj.metadata.resourceVersion = String(rv);
    const body = this.serialize(obj, ref);
    const { namespace, name } = obj.metadata;
    this.stmt.replace.run(rv, kind === 'Pod' ? podNodeName(obj) : '', body, kind, namespace, name);
    if (!sameList(owners, previousOwners)) {
      this.stmt.ownerDelete.run(kind, namespace, name);
      for (const owner of owners) this.stmt.ownerInsert.run(owner, kind, namespace, name);
    }
    return this.changed('MODIFIED', kind, body, rv, namespace);
  }

  /** Queues the change for listeners and returns a fresh copy of the object for the caller. */
  private changed(type: 'ADDED' | 'MODIFIED' | 'DELETED', kind: StoreKind, body: string, rv: number, namespace: string): StoredObject {
    if (this.listeners.size > 0) this.pending?.push(lazyChange(type, kind, body, rv, namespace));
    return JSON.parse(body) as StoredObject;
  }

  /** A prepared single-column query, from the cache. */
  private query(sql: string): Database.Statement<unknown[], string> {
    let stmt = this.queries.get(sql);
    if (!stmt) {
      stmt = this.db.prepare<unknown[], string>(sql).pluck();
      this.queries.set(sql, stmt);
    }
    return stmt;
  }

  private serialize(obj: StoredObject, ref: string): string {
    const body = JSON.stringify(obj);
    if (Buffer.byteLength(body) > MAX_OBJECT_BYTES) {
      throw invalidArgument(`${ref} is too large (${Buffer.byteLength(body)} bytes, at most ${MAX_OBJECT_BYTES})`);
    }
    return body;
  }

  private nextResourceVersion(): number {
    return Number(this.stmt.nextRv.get());
  }

  private generateName(kind: StoreKind, namespace: string, generateName: unknown): string {
    if (typeof generateName !== 'string' || generateName === '') {
      throw invalidArgument(`create ${kind}: metadata.name or metadata.generateName is required`);
    }
    // Kubernetes keeps at most 58 characters of the prefix so the name stays within 63.
    const prefix = generateName.slice(0, 58);
    for (let attempt = 0; attempt < 8; attempt++) {
      let suffix = '';
      for (let i = 0; i < 5; i++) suffix += NAME_SUFFIX_CHARS[randomInt(NAME_SUFFIX_CHARS.length)];
      const name = checkName(kind, prefix + suffix);
      if (!this.stmt.get.get(kind, namespace, name)) return name;
    }
    throw alreadyExists(`create ${kind}: no free name with prefix "${prefix}" after 8 tries`);
  }

  private deliver(changes: WatchChange[]): void {
    if (changes.length === 0) return;
    this.outbox.push(...changes);
    if (this.delivering) return; // an outer deliver loop (a listener wrote) sends them in order
    this.delivering = true;
    try {
      for (let change = this.outbox.shift(); change; change = this.outbox.shift()) {
        for (const listener of [...this.listeners]) {
          try {
            listener(change);
          } catch (err) {
            this.logger.warn({ err, kind: change.kind, type: change.type }, 'store watch listener failed');
          }
        }
      }
    } finally {
      this.delivering = false;
    }
  }

  private ensureOpen(): void {
    if (!this.db.open) throw unavailable(`store ${this.path} is closed`);
  }
}

/** Brings the file's schema up to SCHEMA_VERSION, each step in its own transaction. */
function migrate(db: Database.Database, path: string): void {
  const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get() !== undefined;
  const readVersion = (): number =>
    hasMeta ? Number(db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get() ?? 0) : 0;
  const version = readVersion();
  if (version > SCHEMA_VERSION) {
    throw failedPrecondition(`store ${path} has schema version ${version}; this corelet understands up to ${SCHEMA_VERSION}`);
  }
  for (let v = version; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]);
      db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(
        String(v + 1),
      );
    }).immediate();
  }
}
