import { readdir, readFile } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { type Pod, decodePods } from '../api/index.js';
import type { Logger } from '../lib/index.js';
import { messageOf } from '../lib/index.js';

const MANIFEST = /\.(ya?ml|json)$/;

/**
 * Static pods: the manifests in a folder (YAML or JSON, one or more Pods per file). Files added,
 * changed or removed add, update or remove their pods. A file that does not decode is reported and
 * its pods are left as they were, as the kubelet does.
 */
export class StaticPodSource {
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private readonly byFile = new Map<string, { text: string; pods: Pod[] }>();
  private scanning: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly dir: string,
    private readonly onPods: (pods: Pod[]) => void,
    private readonly logger: Logger,
    private readonly pollMs = 5000,
  ) {}

  async start(): Promise<void> {
    await this.scan();
    try {
      this.watcher = watch(this.dir, () => void this.rescan());
    } catch (err) {
      this.logger.warn({ dir: this.dir, err: String(err) }, 'cannot watch the manifest folder; polling only');
    }
    this.poll = setInterval(() => void this.rescan(), this.pollMs);
    this.poll.unref();
  }

  stop(): void {
    this.watcher?.close();
    if (this.poll) clearInterval(this.poll);
  }

  /** Coalesces bursts of change notifications into one scan at a time. */
  private async rescan(): Promise<void> {
    if (this.scanning) {
      this.again = true;
      return;
    }
    this.scanning = this.scan();
    await this.scanning;
    this.scanning = undefined;
    if (this.again) {
      this.again = false;
      await this.rescan();
    }
  }

  private async scan(): Promise<void> {
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter((n) => MANIFEST.test(n) && !n.startsWith('.')).sort();
    } catch (err) {
      this.logger.warn({ dir: this.dir, err: String(err) }, 'cannot read the manifest folder');
      names = [];
    }
    let changed = false;
    for (const gone of [...this.byFile.keys()].filter((f) => !names.includes(f))) {
      this.byFile.delete(gone);
      changed = true;
    }
    for (const name of names) {
      const text = await readFile(join(this.dir, name), 'utf8').catch(() => undefined);
      if (text === undefined || this.byFile.get(name)?.text === text) continue;
      try {
        const { pods, warnings } = decodePods(text, join(this.dir, name));
        for (const w of warnings) this.logger.warn({ file: name }, w);
        this.byFile.set(name, { text, pods });
        changed = true;
      } catch (err) {
        this.logger.error({ file: name, err: messageOf(err) }, 'ignoring an invalid pod manifest');
        if (!this.byFile.has(name)) this.byFile.set(name, { text, pods: [] });
        else this.byFile.get(name)!.text = text;
      }
    }
    if (changed || !this.reported) {
      this.reported = true;
      this.onPods([...this.byFile.values()].flatMap((f) => f.pods));
    }
  }

  private reported = false;
}
