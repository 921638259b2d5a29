/**
 * The applier: runs the compiled transaction through corelet-nft (a long-lived libnftables process;
 * `nft -f -` per call when that is not built, see nft-runner.ts), remembers what the table holds for
 * the next sync, and deletes the table on shutdown. One sync at a time (callers serialize; the
 * agent's proxy loop is the only caller).
 */
import { failedPrecondition, unavailable, type Logger } from '../../lib/index.js';
import { DEFAULT_NFT_HELPER, makeNftRunner, NftHelperLost, NftHelperRunner, type NftRunner, type NftRunOptions, type NftRunResult } from './nft-runner.js';
import { compileRuleset, compileRulesetUpdate, deleteTableText, type CompiledRuleset, type TableObjects } from './compile.js';
import { flushConntrack, staleUdpConntrack, udpDestinations, udpDestinationsOfTable, type ConntrackFlush, type UdpDestinations } from './conntrack.js';
import { DEFAULT_PROXY_TABLE, validateProxyTable, type ProxyState, type ProxyTable } from './model.js';

export interface NftProxyOptions {
  table?: ProxyTable;
  /** The nft argv prefix: ['nft'] by default; tests use ['ip', 'netns', 'exec', NS, 'nft']. */
  nft?: readonly string[];
  /**
   * The corelet-nft command; null: `nft -f` per sync. By default DEFAULT_NFT_HELPER after `nft`'s
   * prefix (all of it but the last word: ['ip', 'netns', 'exec', NS, HELPER] for the tests) when
   * that last word is exactly `nft` (a stand-in given by its path gets no helper). When the binary is missing, `nft -f` is used,
   * and logged once.
   */
  helper?: readonly string[] | null;
  /** Where the fallback to `nft -f` is said (once per process). */
  logger?: Pick<Logger, 'warn'>;
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
  /** The nft input applied, its transactions one after the other (prepare, main, cleanup; '' when nothing changed; for logs and the bench). */
  text: string;
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

/** The fallback to `nft -f` is logged once per process. */
let fallbackLogged = false;

export class NftProxy {
  readonly table: ProxyTable;
  private readonly runner: NftRunner;
  private readonly conntrack: readonly string[] | null;
  private readonly timeoutMs: number;
  /** Our last applied compile; undefined: ask the kernel and replace everything (first sync, after a failure). */
  private last: CompiledRuleset | undefined;
  /** Where our last sync sends UDP traffic; undefined: not known yet (read from the table at the first sync). */
  private lastUdp: UdpDestinations | undefined;

  constructor(opts: NftProxyOptions = {}) {
    this.table = opts.table ?? DEFAULT_PROXY_TABLE;
    validateProxyTable(this.table);
    const nft = opts.nft ?? ['nft'];
    // a stand-in for nft (a test's script, any path) gets no helper unless one is given
    const helper = opts.helper !== undefined ? opts.helper : nft[nft.length - 1] === 'nft' ? [...nft.slice(0, -1), DEFAULT_NFT_HELPER] : null;
    this.timeoutMs = opts.timeoutMs ?? PROXY_COMMAND_TIMEOUT_MS;
    const { runner, usedFallback } = makeNftRunner(nft, helper, this.timeoutMs);
    this.runner = runner;
    if (usedFallback && !fallbackLogged) {
      fallbackLogged = true;
      opts.logger?.warn({ helper: helper?.[helper.length - 1] }, 'service proxy: corelet-nft not found (native-scripts/build-native.sh builds it, with libnftables-dev); running nft -f per sync');
    }
    this.conntrack = opts.conntrack === undefined ? ['conntrack'] : opts.conntrack;
  }

  /** corelet-nft's pid while one runs (tests kill it). */
  get helperPid(): number | undefined {
    return this.runner instanceof NftHelperRunner ? this.runner.pid : undefined;
  }

  /** Stops corelet-nft (the table stays). */
  async close(): Promise<void> {
    await this.runner.close();
  }

  /** One nft input; a lost corelet-nft (killed, timed out) is thrown as NftHelperLost. */
  private async nft(input: string, opts: NftRunOptions = {}): Promise<NftRunResult> {
    return this.runner.run(input, opts);
  }

  /** A read: run again once on a new corelet-nft when the first one was lost. */
  private async read(input: string, opts: NftRunOptions): Promise<NftRunResult> {
    try {
      return await this.nft(input, opts);
    } catch (err) {
      if (!(err instanceof NftHelperLost)) throw err;
      return this.nft(input, opts);
    }
  }

  /**
   * A transaction. When corelet-nft was lost while it held it, the kernel has all of it or none:
   * it is sent again once to a new process; should that be refused (it was committed, and a
   * `delete` of it no longer applies) the caller's full sync puts the table right.
   */
  private async apply(text: string): Promise<NftRunResult> {
    try {
      return await this.nft(text);
    } catch (err) {
      if (!(err instanceof NftHelperLost)) throw err;
      try {
        return await this.nft(text);
      } catch (again) {
        throw unavailable(`nft: ${(again as Error).message} (after: ${err.message})`);
      }
    }
  }

  /** `nft -j list table` with every element ('{"nftables":[]}' when there is no table). */
  async readTable(): Promise<string> {
    const r = await this.read(`list table ${this.table.family} ${this.table.name}`, { json: true });
    if (!r.ok) {
      if (/No such file or directory/.test(r.stderr)) return '{"nftables":[]}';
      throw unavailable(`nft list table ${this.table.family} ${this.table.name} failed: ${r.stderr.trim()}`);
    }
    return r.stdout;
  }

  /** The table's chains, sets and maps as the kernel has them now (empty when there is no table). */
  async listObjects(): Promise<TableObjects> {
    // -t (terse): without set and map elements, which are most of a big table's listing
    const r = await this.read(`list table ${this.table.family} ${this.table.name}`, { json: true, terse: true });
    if (!r.ok) {
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
    if (compiled.cleanup !== '') {
      // @backends elements no longer used; left in the table (unused) when this fails, and the next sync is a full one
      const r = await this.apply(compiled.cleanup).catch((err: Error) => ({ ok: false, stdout: '', stderr: err.message }));
      if (!r.ok) this.last = undefined;
    }
    const after = udpDestinations(compiled.resolved);
    const staleUdp = staleUdpConntrack(before, after);
    this.lastUdp = after;
    const result: SyncResult = { warnings: compiled.warnings, staleUdp, text: compiled.text === '' ? '' : compiled.prepare + compiled.text + compiled.cleanup };
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
      // chains the update makes new get their rules first, in a transaction of their own (compile.ts, "Packets during a commit")
      if (compiled.prepare !== '' && !(await this.apply(compiled.prepare)).ok) {
        this.last = undefined;
        return undefined;
      }
      r = await this.apply(compiled.text);
    } catch (err) {
      this.last = undefined; // lost twice: the transaction may or may not have been committed; the next sync replaces everything
      throw err;
    }
    if (r.ok) return compiled;
    this.last = undefined; // our memory of the table is wrong (someone changed it): replace everything
    return undefined;
  }

  private async applyFull(state: ProxyState, objects?: TableObjects): Promise<CompiledRuleset> {
    const compiled = compileRuleset(state, this.table, objects ?? (await this.listObjects()));
    // refused (the table holds something unexpected): the main transaction below replaces everything all the same
    if (compiled.prepare !== '') await this.apply(compiled.prepare);
    const r = await this.apply(compiled.text);
    if (!r.ok) {
      throw failedPrecondition(`nft -f (table ${this.table.family} ${this.table.name}) refused the ruleset: ${r.stderr.trim()}`);
    }
    return compiled;
  }

  /** Removes the table and every rule in it (shutdown, node removal); a missing table is no error. */
  async deleteTable(): Promise<void> {
    this.last = undefined;
    this.lastUdp = undefined;
    const r = await this.apply(deleteTableText(this.table));
    if (!r.ok) throw failedPrecondition(`nft: deleting table ${this.table.family} ${this.table.name} failed: ${r.stderr.trim()}`);
  }
}
