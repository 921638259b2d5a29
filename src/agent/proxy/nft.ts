/**
 * The applier: runs the compiled transaction through `nft -f -`, remembers what the table holds for
 * the next sync, and deletes the table on shutdown. One sync at a time (callers serialize; the
 * agent's proxy loop is the only caller).
 */
import { execa, failedPrecondition, unavailable } from '../../lib/index.js';
import { compileRuleset, deleteTableText, type ResolvedState, type TableObjects } from './compile.js';
import { flushConntrack, staleUdpConntrack, type ConntrackFlush } from './conntrack.js';
import { DEFAULT_PROXY_TABLE, validateProxyTable, type ProxyState, type ProxyTable } from './model.js';

export interface NftProxyOptions {
  table?: ProxyTable;
  /** The nft argv prefix: ['nft'] by default; tests use ['ip', 'netns', 'exec', NS, 'nft']. */
  nft?: readonly string[];
  /** The conntrack argv prefix; null: compute the stale UDP entries but run nothing. */
  conntrack?: readonly string[] | null;
}

export interface SyncResult {
  warnings: string[];
  /** The stale UDP entries this sync called for (deleted unless conntrack is null). */
  staleUdp: ConntrackFlush[];
  /** Set when deleting them failed (the rules are applied all the same). */
  conntrackError?: string;
  /** The nft input applied (for logs and the bench). */
  text: string;
}

/** Runs one `nft` invocation with `input` on stdin (or `args` alone). */
async function runNft(nft: readonly string[], args: readonly string[], input?: string): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const [file, ...prefix] = nft;
  if (file === undefined) throw unavailable('nft: an empty command');
  const r = await execa(file, [...prefix, ...args], { reject: false, ...(input === undefined ? {} : { input }) });
  if ((r as { code?: string }).code === 'ENOENT') throw unavailable(`${file} is not installed (the Debian package nftables)`);
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** The chains, sets and maps of `nft -j list table` output (an empty list for a table that does not exist). */
export function parseTableObjects(json: string): TableObjects {
  const out: TableObjects = { chains: [], sets: [], maps: [] };
  const doc = JSON.parse(json) as { nftables?: Record<string, { name?: unknown }>[] };
  for (const item of doc.nftables ?? []) {
    const name = (o: { name?: unknown } | undefined) => (typeof o?.name === 'string' ? o.name : undefined);
    const chain = name(item.chain);
    const set = name(item.set);
    const map = name(item.map);
    if (chain !== undefined) out.chains.push(chain);
    if (set !== undefined) out.sets.push(set);
    if (map !== undefined) out.maps.push(map);
  }
  return out;
}

export class NftProxy {
  readonly table: ProxyTable;
  private readonly nft: readonly string[];
  private readonly conntrack: readonly string[] | null;
  /** What the table holds after our last sync; undefined: ask the kernel (first sync, after a failure). */
  private known: TableObjects | undefined;
  private lastResolved: ResolvedState | undefined;

  constructor(opts: NftProxyOptions = {}) {
    this.table = opts.table ?? DEFAULT_PROXY_TABLE;
    validateProxyTable(this.table);
    this.nft = opts.nft ?? ['nft'];
    this.conntrack = opts.conntrack === undefined ? ['conntrack'] : opts.conntrack;
  }

  /** The table's chains, sets and maps as the kernel has them now (empty when there is no table). */
  async listObjects(): Promise<TableObjects> {
    const r = await runNft(this.nft, ['-j', 'list', 'table', this.table.family, this.table.name]);
    if (r.exitCode !== 0) {
      if (/No such file or directory/.test(r.stderr)) return { chains: [], sets: [], maps: [] };
      throw unavailable(`nft list table ${this.table.family} ${this.table.name} failed: ${r.stderr.trim()}`);
    }
    return parseTableObjects(r.stdout);
  }

  /**
   * Replaces the table's contents with `state`'s rules in one transaction. Rules left by an earlier
   * agent (a restart) stay live until this transaction swaps them. On a failure the table is as it
   * was (nft applies all or nothing); the next sync asks the kernel what it holds.
   */
  async sync(state: ProxyState): Promise<SyncResult> {
    const existing = this.known ?? (await this.listObjects());
    const compiled = compileRuleset(state, this.table, existing);
    let r = await runNft(this.nft, ['-f', '-'], compiled.text);
    let { text, resolved } = compiled;
    if (r.exitCode !== 0 && this.known !== undefined) {
      // Our memory of the table may be wrong (someone flushed or deleted it): ask the kernel, once.
      this.known = undefined;
      const again = compileRuleset(state, this.table, await this.listObjects());
      ({ text, resolved } = again);
      r = await runNft(this.nft, ['-f', '-'], again.text);
    }
    if (r.exitCode !== 0) {
      this.known = undefined;
      throw failedPrecondition(`nft -f (table ${this.table.family} ${this.table.name}) refused the ruleset: ${r.stderr.trim()}`);
    }
    this.known = compiled.objects; // the same objects either way: they depend on state alone
    const staleUdp = staleUdpConntrack(this.lastResolved, resolved);
    this.lastResolved = resolved;
    const result: SyncResult = { warnings: compiled.warnings, staleUdp, text };
    if (this.conntrack !== null && staleUdp.length > 0) {
      try {
        await flushConntrack(staleUdp, this.conntrack);
      } catch (err) {
        result.conntrackError = (err as Error).message;
      }
    }
    return result;
  }

  /** Removes the table and every rule in it (shutdown, node removal); a missing table is no error. */
  async deleteTable(): Promise<void> {
    const r = await runNft(this.nft, ['-f', '-'], deleteTableText(this.table));
    this.known = undefined;
    this.lastResolved = undefined;
    if (r.exitCode !== 0) throw failedPrecondition(`nft: deleting table ${this.table.family} ${this.table.name} failed: ${r.stderr.trim()}`);
  }
}
