/**
 * The SQLite schema of the scheduler store. Bump SCHEMA_VERSION and add a step to MIGRATIONS when it
 * changes; a store written by a newer corelet is refused rather than misread.
 */

/** The schema version this code writes. */
export const SCHEMA_VERSION = 2;

/** Meta keys the store owns; setMeta refuses them. */
export const RESERVED_META_KEYS: ReadonlySet<string> = new Set(['schema_version', 'resource_version']);

/** MIGRATIONS[n] takes a store from version n to n + 1 (0 is an empty file). */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) STRICT;
  INSERT INTO meta (key, value) VALUES ('resource_version', '0');

  -- One row per object; body is the whole object as JSON, the other columns are for lookups.
  -- node_name mirrors a Pod's spec.nodeName ('' while unbound) for "pods on node X".
  CREATE TABLE objects (
    kind             TEXT NOT NULL,
    namespace        TEXT NOT NULL,
    name             TEXT NOT NULL,
    uid              TEXT NOT NULL UNIQUE,
    resource_version INTEGER NOT NULL,
    node_name        TEXT NOT NULL DEFAULT '',
    body             TEXT NOT NULL,
    PRIMARY KEY (kind, namespace, name)
  ) STRICT;
  CREATE INDEX objects_by_node ON objects (kind, node_name);

  -- Events, newest id = most recently recorded; a repeat replaces its row so the cap drops the
  -- least recently seen. dedup_key identifies "the same event" (object, type, reason, message, source).
  CREATE TABLE events (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    dedup_key          TEXT NOT NULL UNIQUE,
    involved_kind      TEXT NOT NULL,
    involved_namespace TEXT NOT NULL,
    involved_name      TEXT NOT NULL,
    involved_uid       TEXT NOT NULL,
    body               TEXT NOT NULL
  ) STRICT;
  CREATE INDEX events_by_object ON events (involved_kind, involved_namespace, involved_name);
  `,
  // 2: lookups that stay fast with thousands of nodes and pods. "Pods on node X" used to walk every
  // pod: SQLite preferred the primary key, which gives the list order, over the (kind, node_name)
  // index; the node index now carries the list order too. owner_refs answers "objects owned by uid
  // U" (what controllers ask for their pods) without reading every object of the namespace.
  `
  DROP INDEX objects_by_node;
  CREATE INDEX objects_by_node ON objects (kind, node_name, namespace, name);

  -- One row per (owner uid, owned object): the uids in an object's metadata.ownerReferences.
  CREATE TABLE owner_refs (
    owner_uid TEXT NOT NULL,
    kind      TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name      TEXT NOT NULL,
    PRIMARY KEY (owner_uid, kind, namespace, name)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX owner_refs_by_object ON owner_refs (kind, namespace, name);
  INSERT OR IGNORE INTO owner_refs (owner_uid, kind, namespace, name)
    SELECT json_extract(r.value, '$.uid'), o.kind, o.namespace, o.name
    FROM objects o, json_each(o.body, '$.metadata.ownerReferences') r
    WHERE json_type(r.value, '$.uid') = 'text';
  `,
];
