import { constants, type Stats } from 'node:fs';
import { type FileHandle, lchown, link, lstat, lutimes, mkdir, open, readdir, rm, symlink, unlink } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { errnoCode, invalidArgument, type Logger } from '../../lib/index.js';
import { entryComponents, resolveDirInRoot } from './safe-path.js';
import { walkTar, type ReadEntry } from './tar-walk.js';

/** Options for applyLayer. */
export interface ApplyLayerOptions {
  logger: Logger;
  /** chown every entry to its tar uid/gid (needs root; the runtime runs as root). */
  preserveOwner: boolean;
  /** The layer's diff id from the image config: the uncompressed tar must hash to it. */
  diffId?: string;
  /** Names the layer in errors and logs (its digest). */
  what: string;
}

/** What applyLayer did. */
export interface ApplyLayerResult {
  /** Entries written or whited out. */
  applied: number;
  /** Entries refused and skipped (device nodes, FIFOs, unknown types). */
  skipped: number;
  /** Digest of the uncompressed tar. */
  diffId: string;
}

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_WHITEOUT = '.wh..wh..opq';

/**
 * Applies one layer tar (gzip or plain) onto the directory root, treating the tar as hostile:
 * - no entry writes outside root: names are taken relative to root, `..` above root is refused,
 *   symlinks met in a path are resolved inside root (never followed out of it), an existing
 *   symlink at an entry's own path is replaced rather than written through, and hard links must
 *   point at an existing non-directory inside root;
 * - character and block devices (and FIFOs) are skipped and logged;
 * - whiteouts: `.wh.name` deletes name from lower layers; `.wh..wh..opq` makes its directory opaque
 *   (only what this layer put there survives);
 * - modes are set exactly (setuid, sticky: no umask), owners and mtimes preserved.
 */
export async function applyLayer(root: string, source: AsyncIterable<Uint8Array>, opts: ApplyLayerOptions): Promise<ApplyLayerResult> {
  const { logger } = opts;
  // Paths this layer wrote, with all their ancestors: what an opaque directory keeps.
  const touched = new Set<string>();
  const skippedPaths = new Set<string>();
  // Directory modes and mtimes are set at the end: children written later would change the mtime.
  const dirMeta: { rel: string[]; mode: number; mtime?: Date }[] = [];
  let applied = 0;
  let skipped = 0;

  const markTouched = (path: string) => {
    for (let p = path; p.length > root.length && !touched.has(p); p = dirname(p)) touched.add(p);
  };
  const own = async (path: string, entry: ReadEntry) => {
    if (opts.preserveOwner) await lchown(path, entry.uid ?? 0, entry.gid ?? 0);
  };
  const skip = (entry: ReadEntry, path: string, why: string) => {
    logger.warn({ layer: opts.what, path: entry.path, type: entry.type }, `skipping layer entry: ${why}`);
    skippedPaths.add(path);
    skipped++;
  };

  const removeUntouched = async (dir: string): Promise<void> => {
    for (const name of await readdir(dir)) {
      const p = join(dir, name);
      if (!touched.has(p)) await rm(p, { recursive: true, force: true });
      else if ((await lstat(p)).isDirectory()) await removeUntouched(p);
    }
  };

  const whiteout = async (comps: string[], base: string, entry: ReadEntry) => {
    const parent = await resolveDirInRoot(root, comps.slice(0, -1), { create: false });
    if (base === OPAQUE_WHITEOUT) {
      if (parent !== undefined) {
        await removeUntouched(parent);
        markTouched(parent);
      }
      return;
    }
    if (base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) {
      logger.debug({ layer: opts.what, path: entry.path }, 'ignoring aufs metadata entry');
      return;
    }
    const name = base.slice(WHITEOUT_PREFIX.length);
    if (name === '' || name === '.' || name === '..') throw invalidArgument(`invalid whiteout entry ${JSON.stringify(entry.path)}`);
    if (parent === undefined) return;
    const target = join(parent, name);
    if (touched.has(target)) return; // a whiteout hides lower layers, not this one
    await rm(target, { recursive: true, force: true }); // rm does not follow a symlink it removes
  };

  const handle = async (entry: ReadEntry) => {
    const comps = entryComponents(entry.path);
    const base = comps[comps.length - 1];
    if (base !== undefined && base.startsWith(WHITEOUT_PREFIX)) {
      await whiteout(comps, base, entry);
      applied++;
      return;
    }
    const mode = (entry.mode ?? (entry.type === 'Directory' ? 0o755 : 0o644)) & 0o7777;
    if (base === undefined) {
      // The root itself ("./"): only its metadata can change.
      if (entry.type === 'Directory') {
        await own(root, entry);
        dirMeta.push({ rel: [], mode, mtime: entry.mtime });
      }
      return;
    }
    const parent = (await resolveDirInRoot(root, comps.slice(0, -1), { create: true, onCreate: markTouched }))!;
    const dest = join(parent, base);
    switch (entry.type) {
      case 'Directory': {
        const st = await lstatOrUndefined(dest);
        if (!st?.isDirectory()) {
          if (st) await rm(dest, { recursive: true, force: true });
          await mkdir(dest);
        }
        await own(dest, entry);
        dirMeta.push({ rel: relative(root, dest).split(sep), mode, mtime: entry.mtime });
        break;
      }
      case 'File':
      case 'OldFile':
      case 'ContiguousFile': {
        await clear(dest);
        const fh = await open(dest, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        try {
          await writeAll(fh, entry);
          if (opts.preserveOwner) await fh.chown(entry.uid ?? 0, entry.gid ?? 0);
          await fh.chmod(mode); // after chown, which clears setuid bits
          if (entry.mtime) await fh.utimes(entry.mtime, entry.mtime);
        } finally {
          await fh.close();
        }
        break;
      }
      case 'SymbolicLink': {
        await clear(dest);
        await symlink(entry.linkpath ?? '', dest);
        await own(dest, entry);
        if (entry.mtime) await lutimes(dest, entry.mtime, entry.mtime);
        break;
      }
      case 'Link': {
        const targetComps = entryComponents(entry.linkpath ?? '');
        const targetName = targetComps.pop();
        const targetDir = targetName === undefined ? undefined : await resolveDirInRoot(root, targetComps, { create: false });
        const target = targetDir === undefined ? undefined : join(targetDir, targetName!);
        if (target !== undefined && skippedPaths.has(target)) {
          skip(entry, dest, 'hard link to a skipped entry');
          return;
        }
        const st = target === undefined ? undefined : await lstatOrUndefined(target);
        if (!st) throw invalidArgument(`hard link ${JSON.stringify(entry.path)}: target ${JSON.stringify(entry.linkpath)} does not exist in the layer`);
        if (st.isDirectory()) throw invalidArgument(`hard link ${JSON.stringify(entry.path)}: target ${JSON.stringify(entry.linkpath)} is a directory`);
        if (target === dest) break;
        await clear(dest);
        await link(target!, dest); // link(2) does not follow a symlink target: it links the symlink itself
        break;
      }
      case 'CharacterDevice':
      case 'BlockDevice':
        skip(entry, dest, 'device nodes are not allowed in image layers');
        return;
      case 'FIFO':
        skip(entry, dest, 'FIFOs are not supported in image layers');
        return;
      default:
        skip(entry, dest, `unsupported entry type ${entry.type}`);
        return;
    }
    markTouched(dest);
    applied++;
  };

  let result;
  try {
    result = await walkTar(source, handle, (entry) => {
      logger.warn({ layer: opts.what, path: entry.path, type: entry.type }, 'skipping unrecognised tar entry');
      skipped++;
    });
  } catch (err) {
    const e = err as Error;
    throw invalidArgument(`applying layer ${opts.what}: ${e.message}`, err);
  }
  if (opts.diffId !== undefined && result.diffId !== opts.diffId) {
    throw invalidArgument(`applying layer ${opts.what}: uncompressed content is ${result.diffId}, image config says ${opts.diffId}`);
  }

  for (const meta of dirMeta.reverse()) {
    // Re-resolve: a later entry may have replaced a parent with a symlink; never follow it out.
    const expected = join(root, ...meta.rel);
    const path = await resolveDirInRoot(root, meta.rel, { create: false });
    if (path !== expected) continue;
    let fh;
    try {
      fh = await open(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    } catch (err) {
      if (['ENOENT', 'ENOTDIR', 'ELOOP'].includes(errnoCode(err) ?? '')) continue;
      throw err;
    }
    try {
      await fh.chmod(meta.mode);
      if (meta.mtime) await fh.utimes(meta.mtime, meta.mtime);
    } finally {
      await fh.close();
    }
  }
  return { applied, skipped, diffId: result.diffId };
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/** Removes whatever is at path (a directory with its contents), without following symlinks. */
async function clear(path: string): Promise<void> {
  const st = await lstatOrUndefined(path);
  if (!st) return;
  if (st.isDirectory()) await rm(path, { recursive: true, force: true });
  else await unlink(path);
}

const WRITE_BATCH = 1 << 20;

/**
 * Copies a tar entry's data into an open file, batching the parser's chunks into one writev of up
 * to 1 MiB (no copy into a joined buffer). (A FileHandle write stream would hold the handle open
 * until destroyed.)
 */
async function writeAll(fh: FileHandle, source: AsyncIterable<Buffer>): Promise<void> {
  let batch: Buffer[] = [];
  let batched = 0;
  const flush = async () => {
    let bufs = batch;
    batch = [];
    batched = 0;
    while (bufs.length > 0) {
      let written = (await fh.writev(bufs)).bytesWritten;
      // a short write: drop what went out and write the rest
      let i = 0;
      while (i < bufs.length && written >= bufs[i]!.length) written -= bufs[i++]!.length;
      bufs = bufs.slice(i);
      if (written > 0) bufs[0] = bufs[0]!.subarray(written);
    }
  };
  for await (const chunk of source) {
    batch.push(chunk);
    batched += chunk.length;
    if (batched >= WRITE_BATCH) await flush();
  }
  if (batched > 0) await flush();
}
