/**
 * `corelet apply -f FILE|DIR|- [--wait]`: sends each manifest to the scheduler (which creates or
 * updates its objects, all of a file or none) and prints what happened to each object; with --wait,
 * waits until they are ready.
 */
import type { Command } from 'commander';
import { ApiError, warningsOf, type ApiClient } from './api-client.js';
import { collect, withClient, withConnectionOptions, type CommonOptions } from './cluster-options.js';
import { kindOf, objectPath } from './kinds.js';
import { checkRequestSize, readManifests, setNamespace } from './manifests.js';
import { objectName } from './printers.js';
import { createProgress, parseDuration, pollUntil } from './progress.js';
import { readiness } from './readiness.js';
import { cliIo, errLine, outLine } from './io.js';

/** The header in which the scheduler says what apply did to each object. */
const APPLY_RESULTS_HEADER = 'corelet-apply-results';

interface ApplyOptions extends CommonOptions {
  filename: string[];
  wait?: boolean;
  timeout: string;
}

/** Registers `corelet apply`. */
export function registerApplyCommand(program: Command): void {
  const cmd = program
    .command('apply')
    .description('create or update the objects in manifests (Pods, Deployments, StatefulSets, DaemonSets, Jobs, Services, EndpointSlices, Namespaces, RBAC objects...; YAML or JSON, many documents per file)')
    .option('-f, --filename <path>', 'a manifest file, a directory (its .yaml/.yml/.json files, sorted) or - for standard input; repeatable', collect, [])
    .option('-n, --namespace <namespace>', 'the namespace of objects that name none (default "default")')
    .option('--wait', 'wait until what was applied is ready: pods running and ready, deployments available, jobs complete')
    .option('--timeout <duration>', 'with --wait: how long to wait (e.g. 90s, 5m)', '5m');
  withConnectionOptions(cmd).action(async (opts: ApplyOptions) => {
    const timeoutMs = parseDuration(opts.timeout, '--timeout');
    const sources = await readManifests(opts.filename);
    await withClient(opts, async (client) => {
      const applied: { kind: string; metadata: { name: string; namespace: string } }[] = [];
      const errors: string[] = [];
      for (const src of sources) {
        try {
          const text = opts.namespace ? setNamespace(src.text, opts.namespace, src.name) : src.text;
          checkRequestSize({ name: src.name, text });
          const res = await client.request<{ items: typeof applied }>('POST', '/api/v1/apply', { text, contentType: 'application/yaml' });
          for (const w of warningsOf(res.headers)) errLine(`Warning: ${w.replaceAll('request body', src.name)}`);
          const results = String(res.headers[APPLY_RESULTS_HEADER] ?? '').split(',');
          res.body.items.forEach((obj, i) => {
            outLine(`${objectName(obj)} ${results[i] || 'configured'}`);
            applied.push(obj);
          });
        } catch (err) {
          // The scheduler names the input "request body"; the user knows it by its file name.
          const message = err instanceof ApiError ? err.message.replaceAll('request body', src.name) : (err as Error).message;
          errors.push(message.startsWith(src.name) ? message : `${src.name}: ${message}`);
        }
      }
      if (errors.length > 0) throw new Error(errors.join('\n'));
      if (opts.wait && applied.length > 0) await waitUntilReady(client, applied, timeoutMs);
    });
  });
}

/** Polls the applied objects until all are ready, one failed, or the time is up. */
async function waitUntilReady(client: ApiClient, objects: { kind: string; metadata: { name: string; namespace: string } }[], timeoutMs: number): Promise<void> {
  const progress = createProgress(cliIo().stdout);
  let finals: string[] = [];
  await pollUntil(
    async () => {
      const states = await Promise.all(
        objects.map(async (o) => {
          const info = kindOf(o.kind);
          const current = info ? await client.getIfExists(objectPath(info, o.metadata.namespace, o.metadata.name)) : o;
          if (!current) return { done: false, failed: true, message: `${objectName(o)} was deleted while waiting for it` };
          return readiness(current);
        }),
      );
      const failure = states.find((s) => s.failed);
      if (failure) return failure;
      const pending = states.filter((s) => !s.done);
      finals = states.map((s) => s.message);
      if (pending.length === 0) return { done: true, message: '' };
      return { done: false, message: `${objects.length - pending.length}/${objects.length} ready; ${pending[0].message}` };
    },
    { timeoutMs, progress, what: 'the applied objects to be ready' },
  );
  for (const line of finals) outLine(line);
}
