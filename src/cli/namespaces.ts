/**
 * `corelet create namespace NAME` and `corelet label TYPE NAME key=value [key-]... [--overwrite]`,
 * as kubectl does them: a label that is already set to another value is refused without
 * --overwrite; `key-` removes a label.
 */
import type { Command } from 'commander';
import { checkLabelValue, checkQualifiedName } from '../api/index.js';
import { warningsOf } from './api-client.js';
import { namespaceOf, withClient, withConnectionOptions, withNamespaceOptions, type CommonOptions } from './cluster-options.js';
import { objectPath, parseTarget } from './kinds.js';
import { errLine, outLine } from './io.js';

/**
 * Adds `namespace NAME` (alias ns) under a `create` command. The `create` parent is shared with
 * other object types (tokens, users, roles): whoever registers it calls this.
 */
export function registerCreateNamespace(create: Command): void {
  const cmd = create.command('namespace <name>').alias('ns').description('create a namespace');
  withConnectionOptions(cmd).action(async (name: string, opts: CommonOptions) => {
    await withClient(opts, async (client) => {
      const res = await client.request('POST', '/api/v1/namespaces', { json: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } });
      for (const w of warningsOf(res.headers)) errLine(`Warning: ${w}`);
      outLine(`namespace/${name} created`);
    });
  });
}

/** One `key=value` (set) or `key-` (remove) argument of `label`. */
export interface LabelChange {
  key: string;
  /** undefined: remove. */
  value?: string;
}

/** Parses label arguments, validating keys and values as the API server would. */
export function parseLabelChanges(args: readonly string[]): LabelChange[] {
  if (args.length === 0) throw new Error('give at least one label: key=value to set, key- to remove');
  return args.map((arg) => {
    if (arg.endsWith('-') && !arg.includes('=')) {
      const key = arg.slice(0, -1);
      const problem = checkQualifiedName(key);
      if (problem) throw new Error(`invalid label key "${key}": ${problem}`);
      return { key };
    }
    const at = arg.indexOf('=');
    if (at <= 0) throw new Error(`"${arg}": expected key=value (set) or key- (remove)`);
    const key = arg.slice(0, at);
    const value = arg.slice(at + 1);
    const keyProblem = checkQualifiedName(key);
    if (keyProblem) throw new Error(`invalid label key "${key}": ${keyProblem}`);
    const valueProblem = checkLabelValue(value);
    if (valueProblem) throw new Error(`invalid label value "${value}" for "${key}": ${valueProblem}`);
    return { key, value };
  });
}

/**
 * The merge patch of metadata.labels that makes the changes, given the labels now; throws as
 * kubectl does for a label already set to another value without overwrite.
 */
export function labelPatch(current: Readonly<Record<string, string>>, changes: readonly LabelChange[], overwrite: boolean, what: string): { metadata: { labels: Record<string, string | null> } } {
  const labels: Record<string, string | null> = {};
  for (const c of changes) {
    if (c.value === undefined) {
      labels[c.key] = null;
      continue;
    }
    const now = current[c.key];
    if (now !== undefined && now !== c.value && !overwrite) {
      throw new Error(`'${c.key}' already has a value (${now}), and --overwrite is false (${what})`);
    }
    labels[c.key] = c.value;
  }
  return { metadata: { labels } };
}

interface LabelOptions extends CommonOptions {
  overwrite?: boolean;
}

/** Registers `corelet label`. */
export function registerLabelCommand(program: Command): void {
  const cmd = program
    .command('label <type> <name> <labels...>')
    .description('set (key=value) or remove (key-) labels of an object, e.g. corelet label ns team pod-security.kubernetes.io/enforce=restricted')
    .option('--overwrite', 'replace labels that already have a value');
  withNamespaceOptions(cmd);
  withConnectionOptions(cmd).action(async (type: string, name: string, args: string[], opts: LabelOptions) => {
    const { info } = parseTarget([type, name]);
    if (info.kind === 'Event') throw new Error('events cannot be labelled');
    const changes = parseLabelChanges(args);
    const namespace = namespaceOf(opts);
    await withClient(opts, async (client) => {
      const path = objectPath(info, namespace, name);
      const current = await client.get<{ metadata: { labels?: Record<string, string>; resourceVersion?: string } }>(path);
      const patch = labelPatch(current.metadata.labels ?? {}, changes, opts.overwrite === true, `${info.display}/${name}`);
      const res = await client.request('PATCH', path, {
        json: { metadata: { ...patch.metadata, resourceVersion: current.metadata.resourceVersion } },
        contentType: 'application/merge-patch+json',
      });
      for (const w of warningsOf(res.headers)) errLine(`Warning: ${w}`);
      outLine(`${info.display}/${name} labeled`);
    });
  });
}
