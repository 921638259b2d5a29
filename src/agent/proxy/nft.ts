/**
 * The applier: runs the compiled transaction through `nft -f -`, remembers what the table holds for
 * the next sync, and deletes the table on shutdown. One sync at a time (callers serialize; the
 * agent's proxy loop is the only caller).
 */
import { execa, failedPrecondition, unavailable } from '../../lib/index.js';
import { compileRuleset, compileRulesetUpdate, deleteTableText, type CompiledRuleset, type TableObjects } from './compile.js';
import { flushConntrack, staleUdpConntrack, udpDestinations, udpDestinationsOfTable, type ConntrackFlush, type UdpDestinations } from './conntrack.js';
import { DEFAULT_PROXY_TABLE, validateProxyTable, type ProxyState, type ProxyTable } from './model.js';

export interface NftProxyOptions {
  table?: ProxyTable;
  /** The nft argv prefix: ['nft'] by default; tests use ['ip', 'netns', 'exec', NS, 'nft']. */
  nft?: readonly string[];
  /** The conntrack argv prefix; null: compute the stale UDP entries but run nothing. */
  conntrack?: readonly string[] | null;
  /** How long one nft or conntrack run may take before it is killed and the sync fails (30 s). */
  timeoutMs?: number;
}

/** A wedged nft/conntrack run must not hold the sync loop (and with it the agent's stop) for ever. */
export const PROXY_COMMAND_TIMEOUT_MS = 30_000;

export interface SyncResult {
  warnings: string[];
  /** The stale UDP entries this sync called for (deleted unless conntrack is null). */
  staleUdp: ConntrackFlush[];
  /** Set when deleting them failed (the rules are applied all the same). */
  conntrackError?: string;
  /** The nft input applied ('' when nothing changed; for logs and the bench). */
  text: string;
}

/** Runs one `nft` invocation with `input` on stdin (or `args` alone). */
async function runNft(nft: readonly string[], args: readonly string[], input?: string, timeoutMs = PROXY_COMMAND_TIMEOUT_MS): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const [file, ...prefix] = nft;
  if (file === undefined) throw unavailable('nft: an empty command');
  const r = await execa(file, [...prefix, ...args], { reject: false, timeout: timeoutMs, forceKillAfterDelay: 2000, ...(input === undefined ? {} : { input }) });
  if ((r as { code?: string }).code === 'ENOENT') throw unavailable(`${file} is not installed (the Debian package nftables)`);
  if (r.timedOut) throw unavailable(`${[...nft, ...args].join(' ')} did not finish in ${timeoutMs} ms; killed`);
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
  private readonly timeoutMs: number;
  /** Our last applied compile; undefined: ask the kernel and replace everything (first sync, after a failure). */
  private last: CompiledRuleset | undefined;
  /** Where our last sync sends UDP traffic; undefined: not known yet (read from the table at the first sync). */
  private lastUdp: UdpDestinations | undefined;

  constructor(opts: NftProxyOptions = {}) {
    this.table = opts.table ?? DEFAULT_PROXY_TABLE;
    validateProxyTable(this.table);
    this.nft = opts.nft ?? ['nft'];
    this.conntrack = opts.conntrack === undefined ? ['conntrack'] : opts.conntrack;
    this.timeoutMs = opts.timeoutMs ?? PROXY_COMMAND_TIMEOUT_MS;
  }

  /** `nft -j list table` with every element ('{"nftables":[]}' when there is no table). */
  async readTable(): Promise<string> {
    const r = await runNft(this.nft, ['-j', 'list', 'table', this.table.family, this.table.name], undefined, this.timeoutMs);
    if (r.exitCode !== 0) {
      if (/No such file or directory/.test(r.stderr)) return '{"nftables":[]}';
      throw unavailable(`nft list table ${this.table.family} ${this.table.name} failed: ${r.stderr.trim()}`);
    }
    return r.stdout;
  }

  /** The table's chains, sets and maps as the kernel has them now (empty when there is no table). */
  async listObjects(): Promise<TableObjects> {
    // -t (terse): without set and map elements, which are most of a big table's listing
    const r = await runNft(this.nft, ['-j', '-t', 'list', 'table', this.table.family, this.table.name], undefined, this.timeoutMs);
    if (r.exitCode !== 0) {
      if (/No such file or directory/.test(r.stderr)) return { chains: [], sets: [], maps: [] };
      throw unavailable(`nft list table ${this.table.family} ${this.table.name} failed: ${r.stderr.trim()}`);
    }
    return parseTableObjects(r.stdout);
  }

  /**
   * Brings the table to `state`'s rules in one transaction. The first sync (and the one after a
   * failure) replaces everything the table holds, as the kernel lists it, so rules left by an
   * earlier agent (a restart) stay live until this transaction swaps them; later syncs touch only
   * the service ports that changed (compileRulesetUpdate). On a failure the table is as it was (nft
   * applies all or nothing): the sync is tried once more in full, and the error thrown if that
   * fails too.
   */
  async sync(state: ProxyState): Promise<SyncResult> {
    let before = this.lastUdp;
    let objects: TableObjects | undefined;
    if (before === undefined) {
      // The first sync (an agent restart): the "before" of the stale-UDP check is what the table
      // holds (rules of the earlier agent), so endpoints that did not change keep their flows.
      const table = await this.readTable();
      objects = parseTableObjects(table);
      before = udpDestinationsOfTable(table);
    }
    const compiled = (await this.applyUpdate(state)) ?? (await this.applyFull(state, objects));
    this.last = compiled;
    const after = udpDestinations(compiled.resolved);
    const staleUdp = staleUdpConntrack(before, after);
    this.lastUdp = after;
    const result: SyncResult = { warnings: compiled.warnings, staleUdp, text: compiled.text };
    if (this.conntrack !== null && staleUdp.length > 0) {
      try {
        await flushConntrack(staleUdp, this.conntrack, this.timeoutMs);
      } catch (err) {
        result.conntrackError = (err as Error).message;
      }
    }
    return result;
  }

  /** The changes since our last sync, applied; undefined when there is no last sync or nft refused them. */
  private async applyUpdate(state: ProxyState): Promise<CompiledRuleset | undefined> {
    if (this.last === undefined) return undefined;
    const compiled = compileRulesetUpdate(this.last, state, this.table);
    if (compiled.text === '') return compiled;
    let r;
    try {
      r = await runNft(this.nft, ['-f', '-'], compiled.text, this.timeoutMs);
    } catch (err) {
      this.last = undefined; // killed: the transaction may or may not have been committed; the next sync replaces everything
      throw err;
    }
    if (r.exitCode === 0) return compiled;
    this.last = undefined; // our memory of the table is wrong (someone changed it): replace everything
    return undefined;
  }

  private async applyFull(state: ProxyState, objects?: TableObjects): Promise<CompiledRuleset> {
    const compiled = compileRuleset(state, this.table, objects ?? (await this.listObjects()));
    const r = await runNft(this.nft, ['-f', '-'], compiled.text, this.timeoutMs);
    if (r.exitCode !== 0) {
      throw failedPrecondition(`nft -f (table ${this.table.family} ${this.table.name}) refused the ruleset: ${r.stderr.trim()}`);
    }
    return compiled;
  }

  /** Removes the table and every rule in it (shutdown, node removal); a missing table is no error. */
  async deleteTable(): Promise<void> {
    const r = await runNft(this.nft, ['-f', '-'], deleteTableText(this.table), this.timeoutMs);
    this.last = undefined;
    this.lastUdp = undefined;
    if (r.exitCode !== 0) throw failedPrecondition(`nft: deleting table ${this.table.family} ${this.table.name} failed: ${r.stderr.trim()}`);
  }
}
