/**
 * Users and groups of a container: /etc/passwd and /etc/group parsing, image USER strings, and the
 * CRI rules that pick uid, gid and supplementary groups.
 */
import { invalidArgument } from '../../lib/index.js';
import { int64 } from './resources.js';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** Largest uid/gid accepted (2^32 - 2; 2^32 - 1 is the kernel's "no id"). */
const MAX_ID = 4294967294;

function parseId(s: string): number | undefined {
  if (!/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  return n <= MAX_ID ? n : undefined;
}

/**
 * The colon-separated fields of each line of an /etc/passwd-style file with at least `min` fields and
 * a name in the first; comment, blank and shorter lines are skipped.
 */
function colonRecords(content: string, min: number): string[][] {
  const out: string[][] = [];
  for (const raw of content.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length >= min && f[0]) out.push(f);
  }
  return out;
}

/** Parses /etc/passwd content; comment, blank and malformed lines are skipped, as libc does. */
export function parsePasswd(content: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const f of colonRecords(content, 4)) {
    const uid = parseId(f[2]!);
    const gid = parseId(f[3]!);
    if (uid === undefined || gid === undefined) continue;
    out.push({ name: f[0]!, uid, gid, home: f[5] ?? '', shell: f[6] ?? '' });
  }
  return out;
}

/** Parses /etc/group content; comment, blank and malformed lines are skipped. */
export function parseGroup(content: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const f of colonRecords(content, 3)) {
    const gid = parseId(f[2]!);
    if (gid === undefined) continue;
    const members = (f[3] ?? '')
      .split(',')
      .map((m) => m.trim())
      .filter(Boolean);
    out.push({ name: f[0]!, gid, members });
  }
  return out;
}

/** A USER string split in its user and optional group part, each a name or a numeric id. */
export interface UserSpec {
  user: string;
  group?: string;
}

/** Splits "user", "uid", "user:group" or "uid:gid". Throws InvalidArgument for other shapes. */
export function parseUserSpec(spec: string): UserSpec {
  const parts = spec.split(':');
  if (parts.length > 2 || !parts[0] || (parts.length === 2 && !parts[1])) {
    throw invalidArgument(`invalid user "${spec}": expected user, uid, user:group or uid:gid`);
  }
  return parts.length === 2 ? { user: parts[0], group: parts[1] } : { user: parts[0] };
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  /** The passwd name of the user, when it has one (used to find its groups). */
  name?: string;
}

/**
 * Resolves a USER string against the image's passwd and group files (undefined when absent). A
 * numeric uid need not exist in passwd; its gid is then 0 unless given. A name must exist, else
 * InvalidArgument. Without a group part the gid is the user's primary group.
 */
export function resolveUser(spec: string, passwd?: string, group?: string): ResolvedUser {
  const { user, group: groupPart } = parseUserSpec(spec);
  const users = passwd === undefined ? [] : parsePasswd(passwd);
  let uid: number;
  let gid = 0;
  let name: string | undefined;
  const numericUid = parseId(user);
  if (numericUid !== undefined) {
    uid = numericUid;
    const entry = users.find((u) => u.uid === uid);
    if (entry) {
      gid = entry.gid;
      name = entry.name;
    }
  } else if (/^\d+$/.test(user)) {
    throw invalidArgument(`invalid user "${spec}": uid out of range`);
  } else {
    const entry = users.find((u) => u.name === user);
    if (!entry) {
      throw invalidArgument(
        passwd === undefined ? `unable to find user ${user}: the image has no /etc/passwd` : `unable to find user ${user}: no matching entries in passwd file`,
      );
    }
    uid = entry.uid;
    gid = entry.gid;
    name = entry.name;
  }
  if (groupPart !== undefined) gid = resolveGroup(groupPart, group, spec);
  return { uid, gid, name };
}

function resolveGroup(groupPart: string, group: string | undefined, spec: string): number {
  const numeric = parseId(groupPart);
  if (numeric !== undefined) return numeric;
  if (/^\d+$/.test(groupPart)) throw invalidArgument(`invalid user "${spec}": gid out of range`);
  const entry = (group === undefined ? [] : parseGroup(group)).find((g) => g.name === groupPart);
  if (!entry) throw invalidArgument(`unable to find group ${groupPart}: no matching entries in group file`);
  return entry.gid;
}

/**
 * The groups /etc/group lists the user as a member of (by name), not counting a group that merely
 * shares the user's name, as containerd does.
 */
export function memberGroups(userName: string | undefined, group?: string): number[] {
  if (!userName || group === undefined) return [];
  return parseGroup(group)
    .filter((g) => g.name !== userName && g.members.includes(userName))
    .map((g) => g.gid);
}

/** Sorted, de-duplicated gids. */
export function sortGids(gids: Iterable<number>): number[] {
  return [...new Set(gids)].sort((a, b) => a - b);
}

/** The CRI identity fields of a (container or sandbox) security context. */
export interface CriUserRequest {
  runAsUser?: string | null;
  runAsUsername?: string;
  runAsGroup?: string | null;
}

/**
 * The CRI user string (containerd's rules): run_as_username wins over run_as_user, run_as_group
 * adds the group. run_as_group alone is an error. Undefined when the CRI asks for no user.
 */
export function criUserString(req: CriUserRequest): string | undefined {
  const user = req.runAsUsername || (req.runAsUser != null ? String(req.runAsUser) : undefined);
  const group = req.runAsGroup != null ? String(req.runAsGroup) : undefined;
  if (user === undefined) {
    if (group !== undefined) throw invalidArgument(`run_as_group ${group} is specified without run_as_user`);
    return undefined;
  }
  return group === undefined ? user : `${user}:${group}`;
}

/** CRI supplemental_groups (int64 decimal strings) as gids; InvalidArgument for impossible ids. */
export function parseGids(values: readonly (string | number)[] | undefined, field: string): number[] {
  return (values ?? []).map((v) => {
    const n = int64(String(v), field);
    if (n < 0 || n > MAX_ID) throw invalidArgument(`${field}: ${v} is not a valid gid`);
    return n;
  });
}
