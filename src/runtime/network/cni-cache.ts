/**
 * Per-sandbox record of a CNI ADD: the config list it ran, the runtime arguments and (once ADD
 * succeeded) the result. DEL after a daemon restart or a config change replays exactly this, and a
 * missing record means there is nothing to delete.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode, internal, writeJsonAtomic } from '../../lib/index.js';
import { parseNetworkConfig, type NetworkConfigList } from './cni-config.js';
import { checkContainerId } from './cni-protocol.js';

const KIND = 'corelet.cni-attachment/v1';

/** One cached attachment. */
export interface CniCacheEntry {
  sandboxId: string;
  ifName: string;
  netnsPath: string;
  /** The CNI_ARGS string given to ADD. */
  cniArgs: string;
  /** runtimeConfig capability values given to ADD. */
  runtimeConfig: Record<string, unknown>;
  /** Which file the config came from (for humans reading the cache). */
  configFile: string;
  config: NetworkConfigList;
  /** The raw ADD result of the list; absent while ADD is in flight (or when it crashed midway). */
  result?: unknown;
}

/** JSON files under one folder, one per sandbox, written atomically. */
export class CniResultCache {
  constructor(readonly dir: string) {}

  /** Where a sandbox's entry lives. */
  path(sandboxId: string): string {
    return join(this.dir, `${checkContainerId(sandboxId)}.json`);
  }

  /** The entry of a sandbox, or undefined when there is none. Throws Internal on an unreadable one. */
  async read(sandboxId: string): Promise<CniCacheEntry | undefined> {
    const file = this.path(sandboxId);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw internal(`reading CNI cache ${file}: ${(err as Error).message}`, err);
    }
    try {
      const doc = JSON.parse(text) as Record<string, unknown>;
      if (doc.kind !== KIND || doc.sandboxId !== sandboxId) throw new Error(`not a ${KIND} entry for ${sandboxId}`);
      const strings = ['ifName', 'netnsPath', 'cniArgs', 'configFile'] as const;
      for (const key of strings) if (typeof doc[key] !== 'string') throw new Error(`"${key}" is missing`);
      if (typeof doc.runtimeConfig !== 'object' || doc.runtimeConfig === null) throw new Error('"runtimeConfig" is missing');
      const config = parseNetworkConfig(JSON.stringify(doc.config), 'cached config');
      return {
        sandboxId,
        ifName: doc.ifName as string,
        netnsPath: doc.netnsPath as string,
        cniArgs: doc.cniArgs as string,
        runtimeConfig: doc.runtimeConfig as Record<string, unknown>,
        configFile: doc.configFile as string,
        config,
        ...(doc.result !== undefined ? { result: doc.result } : {}),
      };
    } catch (err) {
      throw internal(`CNI cache ${file} is unusable: ${(err as Error).message}`, err);
    }
  }

  /** Writes (or replaces) a sandbox's entry atomically. */
  async write(entry: CniCacheEntry): Promise<void> {
    await writeJsonAtomic(this.path(entry.sandboxId), { kind: KIND, ...entry });
  }

  /** Removes a sandbox's entry; a missing one is fine. */
  async remove(sandboxId: string): Promise<void> {
    await rm(this.path(sandboxId), { force: true });
  }
}
