import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic, tightenRecords, safeSegment, alreadyExists, errnoCode, notFound, type Logger, KeyedMutex } from '../../lib/index.js';
import type { ContainerRecord, SandboxRecord } from './records.js';

type Kind = 'sandboxes' | 'containers';
const RECORD_WRITE = { sync: false };
const FILE: Record<Kind, string> = { sandboxes: 'sandbox.json', containers: 'container.json' };

/**
 * Sandboxes and containers, in memory and on disk under root/{sandboxes,containers}/<id>/. Every
 * change goes through add/update/remove, which persist atomically before returning, so a daemon
 * killed at any moment finds on restart exactly what clients were told.
 *
 * Records are written by temp file + rename WITHOUT fsync (RECORD_WRITE): a SIGKILLed daemon
 * still finds every record as it last wrote it (the page cache outlives the process), which is
 * what crash recovery needs. Only a power loss or kernel crash can lose the last writes, and then
 * no pod survives anyway (netns, mounts, cgroups and processes are gone with the boot); what
 * such a loss costs is a record-less folder (skipped on load, its rootfs upper dir left on disk)
 * or a record one state behind. A pod start writes five records, two fsyncs each before this
 * (bench/README.md, pod start, issue 14).
 */
export class StateStore {
  /** Serialises the updates of each record (key: kind/id). */
  private readonly updates = new KeyedMutex();
  private readonly sandboxes = new Map<string, SandboxRecord>();
  private readonly containers = new Map<string, ContainerRecord>();
  private readonly names = new Map<string, string>();

  constructor(
    private readonly root: string,
    private readonly logger: Logger,
  ) {}

  /** Folder of one object; its record file and everything corelet keeps for it live there. */
  dir(kind: Kind, id: string): string {
    return join(this.root, kind, safeSegment(id, `${kind === 'sandboxes' ? 'sandbox' : 'container'} id`));
  }

  /** Loads every record from disk; unreadable ones are logged and skipped, never deleted. */
  async load(): Promise<void> {
    for (const kind of ['sandboxes', 'containers'] as const) {
      await mkdir(join(this.root, kind), { recursive: true });
      const ids = await readdir(join(this.root, kind));
      // Records written before state was private (0644): env values must not stay readable.
      await tightenRecords(join(this.root, kind), ids, [FILE[kind], 'config.json']);
      for (const id of ids) {
        try {
          const rec = JSON.parse(await readFile(join(this.dir(kind, id), FILE[kind]), 'utf8'));
          this.remember(kind, rec);
        } catch (err) {
          if (errnoCode(err) !== 'ENOENT') this.logger.warn({ kind, id, err: String(err) }, 'skipping unreadable record');
        }
      }
    }
  }

  private remember(kind: Kind, rec: SandboxRecord | ContainerRecord): void {
    if (kind === 'sandboxes') this.sandboxes.set(rec.id, rec as SandboxRecord);
    else this.containers.set(rec.id, rec as ContainerRecord);
    this.names.set(`${kind}/${rec.name}`, rec.id);
  }

  /** Reserves rec.name and persists the new record; AlreadyExists when the name is taken. */
  async add(kind: 'sandboxes', rec: SandboxRecord): Promise<void>;
  async add(kind: 'containers', rec: ContainerRecord): Promise<void>;
  async add(kind: Kind, rec: SandboxRecord | ContainerRecord): Promise<void> {
    const owner = this.names.get(`${kind}/${rec.name}`);
    if (owner !== undefined) {
      throw alreadyExists(`name "${rec.name}" is reserved for ${kind === 'sandboxes' ? 'sandbox' : 'container'} ${owner}`);
    }
    this.remember(kind, rec);
    try {
      await writeJsonAtomic(join(this.dir(kind, rec.id), FILE[kind]), rec, 0o600, RECORD_WRITE);
    } catch (err) {
      this.forget(kind, rec.id);
      // The folder is the new object's own (a fresh id): a failed first write (ENOSPC) leaves none.
      await rm(this.dir(kind, rec.id), { recursive: true, force: true }).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Applies change to a copy of the record and persists it; the in-memory record changes only then.
   * Updates of one record run one after the other (change sees the record as the previous update
   * left it), so two writers never write an older copy over a newer one.
   */
  updateSandbox(id: string, change: (rec: SandboxRecord) => void): Promise<SandboxRecord> {
    return this.update('sandboxes', id, () => this.sandbox(id), this.sandboxes, change);
  }

  /** Container counterpart of updateSandbox. */
  updateContainer(id: string, change: (rec: ContainerRecord) => void): Promise<ContainerRecord> {
    return this.update('containers', id, () => this.container(id), this.containers, change);
  }

  private update<T>(kind: Kind, id: string, current: () => T, records: Map<string, T>, change: (rec: T) => void): Promise<T> {
    return this.updates.run(`${kind}/${id}`, async () => {
      // read inside the lock: as the previous update left it, and NotFound once a remove ran
      const next = structuredClone(current());
      change(next);
      await writeJsonAtomic(join(this.dir(kind, id), FILE[kind]), next, 0o600, RECORD_WRITE);
      records.set(id, next);
      return next;
    });
  }

  /**
   * Forgets the object and deletes its folder, after any update in flight (under the same lock: an
   * update written meanwhile would recreate the folder and the record; one queued after finds none).
   */
  async remove(kind: Kind, id: string): Promise<void> {
    await this.updates.run(`${kind}/${id}`, async () => {
      await rm(this.dir(kind, id), { recursive: true, force: true });
      this.forget(kind, id);
    });
  }

  private forget(kind: Kind, id: string): void {
    const map: Map<string, { name: string }> = kind === 'sandboxes' ? this.sandboxes : this.containers;
    const rec = map.get(id);
    if (rec && this.names.get(`${kind}/${rec.name}`) === id) this.names.delete(`${kind}/${rec.name}`);
    map.delete(id);
  }

  listSandboxes(): SandboxRecord[] {
    return [...this.sandboxes.values()];
  }

  listContainers(): ContainerRecord[] {
    return [...this.containers.values()];
  }

  /** The sandbox with this id or unique id prefix (as crictl accepts); NotFound otherwise. */
  sandbox(idOrPrefix: string): SandboxRecord {
    return lookup(this.sandboxes, idOrPrefix, 'sandbox');
  }

  container(idOrPrefix: string): ContainerRecord {
    return lookup(this.containers, idOrPrefix, 'container');
  }

  findSandbox(idOrPrefix: string): SandboxRecord | undefined {
    return tryLookup(this.sandboxes, idOrPrefix);
  }

  findContainer(idOrPrefix: string): ContainerRecord | undefined {
    return tryLookup(this.containers, idOrPrefix);
  }
}

function tryLookup<T>(map: Map<string, T>, idOrPrefix: string): T | undefined {
  if (!idOrPrefix) return undefined;
  const exact = map.get(idOrPrefix);
  if (exact) return exact;
  let found: T | undefined;
  for (const [id, rec] of map) {
    if (id.startsWith(idOrPrefix)) {
      if (found) return undefined;
      found = rec;
    }
  }
  return found;
}

function lookup<T>(map: Map<string, T>, idOrPrefix: string, what: string): T {
  const rec = tryLookup(map, idOrPrefix);
  if (!rec) throw notFound(`${what} "${idOrPrefix}" not found`);
  return rec;
}
