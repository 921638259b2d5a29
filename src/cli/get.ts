/**
 * `corelet get KIND [NAME...] [-o wide|json|yaml|name] [-w] [-n NS | -A] [-l k=v]`: lists objects as
 * kubectl does (aligned tables, or a v1 List in JSON/YAML); -w keeps printing a row per change.
 */
import type { Command } from 'commander';
import type { ApiClient, WatchEvent } from './api-client.js';
import { namespaceOf, withClient, withConnectionOptions, withNamespaceOptions, type CommonOptions } from './cluster-options.js';
import { collectionPath, knownKinds, objectPath, parseTarget, resolveKind, type KindInfo } from './kinds.js';
import { columnsFor, formatMachine, parseOutputFormat, printTable, toList, type OutputFormat } from './printers.js';
import { columnWidths, formatRow } from './table.js';
import { cliIo, errLine, outLine } from './io.js';

interface GetOptions extends CommonOptions {
  output?: string;
  watch?: boolean;
  selector?: string;
  fieldSelector?: string;
}

/** "?a=b&c=d" from the defined values; '' when none. */
export function query(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** Registers `corelet get`. */
export function registerGetCommand(program: Command): void {
  const cmd = program
    .command('get <type> [names...]')
    .description(`list objects, or show the named ones; types: ${knownKinds()}`)
    .option('-o, --output <format>', 'wide (more columns), json, yaml or name')
    .option('-w, --watch', 'after listing, print a row for every change')
    .option('-l, --selector <k=v,...>', 'only objects with these labels')
    .option('--field-selector <path=value,...>', 'only objects whose fields match, e.g. spec.nodeName=node-1');
  withNamespaceOptions(cmd, true);
  withConnectionOptions(cmd).action(async (type: string, names: string[], opts: GetOptions) => {
    const format = parseOutputFormat(opts.output);
    if (type.includes(',') && !type.includes('/')) return getSeveralKinds(type.split(',').filter(Boolean), names, format, opts);
    const { info, names: wanted } = parseTarget([type, ...names]);
    const allNamespaces = opts.allNamespaces === true && info.namespaced;
    const namespace = allNamespaces ? undefined : namespaceOf(opts);
    await withClient(opts, async (client) => {
      if (opts.watch) return watchObjects(client, info, namespace, wanted, format, opts);
      const items = await fetchObjects(client, info, namespace, wanted, opts);
      if (format === 'table' || format === 'wide') {
        if (items.length === 0) {
          errLine(namespace !== undefined && info.namespaced ? `No resources found in ${namespace} namespace.` : 'No resources found');
          return;
        }
        outLine(printTable(info.kind, items, { wide: format === 'wide', withNamespace: allNamespaces }, new Date()));
        return;
      }
      const single = wanted.length === 1 && info.kind !== 'Event';
      outLine(formatMachine(format, single ? items[0] : toList(items)));
    });
  });
}

/** `get deploy,po`: a table per kind (names qualified by kind), or one List of them all. */
async function getSeveralKinds(types: string[], names: string[], format: OutputFormat, opts: GetOptions): Promise<void> {
  if (names.length > 0) throw new Error('names go with one resource type: corelet get TYPE NAME, or TYPE/NAME');
  if (opts.watch) throw new Error('-w watches one resource type at a time');
  const infos = types.map(resolveKind);
  await withClient(opts, async (client) => {
    const groups: { info: KindInfo; items: any[]; namespace?: string }[] = [];
    for (const info of infos) {
      const all = opts.allNamespaces === true && info.namespaced;
      const namespace = all ? undefined : namespaceOf(opts);
      groups.push({ info, namespace, items: await fetchObjects(client, info, namespace, [], opts) });
    }
    if (format !== 'table' && format !== 'wide') {
      outLine(formatMachine(format, toList(groups.flatMap((g) => g.items))));
      return;
    }
    const tables = groups
      .filter((g) => g.items.length > 0)
      .map((g) => printTable(g.info.kind, g.items, { wide: format === 'wide', withNamespace: g.namespace === undefined && g.info.namespaced, qualify: true }, new Date()));
    if (tables.length === 0) errLine(opts.allNamespaces ? 'No resources found' : `No resources found in ${namespaceOf(opts)} namespace.`);
    else outLine(tables.join('\n\n'));
  });
}

/** The named objects (each must exist), or the list the selectors pick. */
async function fetchObjects(client: ApiClient, info: KindInfo, namespace: string | undefined, names: string[], opts: GetOptions): Promise<any[]> {
  if (names.length > 0 && info.kind !== 'Event') {
    return Promise.all(names.map((n) => client.get(objectPath(info, namespace ?? '', n))));
  }
  const list = await client.get<{ items: any[] }>(collectionPath(info, namespace) + query({ labelSelector: opts.selector, fieldSelector: opts.fieldSelector }));
  // Events have no names of their own: NAME picks the events about that object.
  return names.length > 0 ? list.items.filter((e) => names.includes(e.involvedObject?.name)) : list.items;
}

/**
 * Watches: the current objects first (one aligned table), then a row (or document) per change,
 * until the scheduler goes away or the user interrupts (or the I/O's signal aborts, in-process).
 * The scheduler ends every watch after a while (its request timeout, as kube-apiserver does); -w
 * then watches again, printing only what changed in between (objects whose resourceVersion moved, and those deleted meanwhile).
 */
async function watchObjects(client: ApiClient, info: KindInfo, namespace: string | undefined, names: string[], format: OutputFormat, opts: GetOptions): Promise<void> {
  const byName = names.length === 1 && info.kind !== 'Event' ? `metadata.name=${names[0]}` : undefined;
  const fieldSelector = [opts.fieldSelector, byName].filter(Boolean).join(',');
  const path = collectionPath(info, namespace) + query({ watch: 'true', allowWatchBookmarks: 'true', labelSelector: opts.selector, fieldSelector });
  const cols = columnsFor(info.kind, { wide: format === 'wide', withNamespace: namespace === undefined && info.namespaced });
  const keep = (o: any) => names.length <= 1 || names.includes(info.kind === 'Event' ? o.involvedObject?.name : o.metadata?.name);
  let initial: unknown[] | undefined = [];
  let widths: number[] = [];
  const print = (obj: unknown) => {
    if (format === 'table' || format === 'wide') outLine(formatRow(cols.row(obj, new Date()), widths));
    else if (format === 'yaml') outLine(`---\n${formatMachine('yaml', obj)}`);
    else outLine(formatMachine(format, obj));
  };
  // What was printed last for each object, to print only changes after a re-watch.
  const last = new Map<string, any>();
  const keyOf = (o: any): string => o?.metadata?.uid ?? JSON.stringify(o);
  let relisting = false;
  let relisted = new Set<string>();
  const onEvent = (event: WatchEvent) => {
    if (event.type === 'BOOKMARK') {
      if (relisting) {
        // The current state after a re-watch is complete: what is missing was deleted meanwhile.
        for (const [k, o] of last) {
          if (relisted.has(k)) continue;
          last.delete(k);
          print(o);
        }
        relisting = false;
        return;
      }
      if (initial === undefined) return;
      // The current state is complete: print it as one table, then rows as changes come.
      const now = new Date();
      const rows = initial.map((o) => cols.row(o, now));
      widths = columnWidths([cols.headers, ...rows]);
      if (format === 'table' || format === 'wide') outLine(formatRow(cols.headers, widths));
      for (const o of initial) print(o);
      initial = undefined;
      return;
    }
    if (!keep(event.object)) return;
    const obj = event.object as any;
    const k = keyOf(obj);
    if (relisting) {
      relisted.add(k);
      if (last.get(k)?.metadata?.resourceVersion === obj?.metadata?.resourceVersion && last.has(k)) return;
    }
    if (event.type === 'DELETED') last.delete(k);
    else last.set(k, obj);
    if (initial) initial.push(obj);
    else print(obj);
  };
  const { signal, rewatchDelayMs = 1000 } = cliIo();
  while (!signal?.aborted) {
    const started = Date.now();
    await client.watch(path, onEvent, signal);
    // The scheduler ended the watch (its timeout): watch again. Not in a tight loop.
    if (Date.now() - started < rewatchDelayMs && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          signal?.removeEventListener('abort', done);
          resolve();
        }, rewatchDelayMs);
        signal?.addEventListener('abort', done, { once: true });
      });
    }
    if (initial === undefined) {
      relisting = true;
      relisted = new Set();
    } else {
      initial = [];
      last.clear();
    }
  }
}
