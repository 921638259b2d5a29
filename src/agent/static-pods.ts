import { readdir, readFile } from 'node:fs/promises';
import { statSync, watch, type FSWatcher } from 'node:fs';
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
  private readonly byFile = new Map<string, { text: string; pods: Pod[]; stamp?: string }>();
  private scanning: Promise<void> | undefined;
  private again = false;
  private againFull = false;

  constructor(
    private readonly dir: string,
    private readonly onPods: (pods: Pod[]) => void,
    private readonly logger: Logger,
    private readonly pollMs = 5000,
  ) {}

  async start(): Promise<void> {
    await this.scan();
    try {
      this.watcher = watch(this.dir, () => void this.rescan(true));
    } catch (err) {
      this.logger.warn({ dir: this.dir, err: String(err) }, 'cannot watch the manifest folder; polling only');
    }
    // The poll is the safety net for a missed notification: it reads only files whose inode, size
    // or mtime changed (a stat each, not a read of every manifest every 5 s).
    this.poll = setInterval(() => void this.rescan(false), this.pollMs);
    this.poll.unref();
  }

  stop(): void {
    this.watcher?.close();
    if (this.poll) clearInterval(this.poll);
  }

  /** Coalesces bursts of change notifications into one scan at a time. */
  private async rescan(full: boolean): Promise<void> {
    if (this.scanning) {
      this.again = true;
      this.againFull ||= full;
      return;
    }
    this.scanning = this.scan(full);
    await this.scanning;
    this.scanning = undefined;
    if (this.again) {
      const againFull = this.againFull;
      this.again = false;
      this.againFull = false;
      await this.rescan(againFull);
    }
  }

  /** Reads every manifest (full), or only those whose stat changed since they were read. */
  private async scan(full = true): Promise<void> {
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
      const st = statSync(join(this.dir, name), { throwIfNoEntry: false });
      const stamp = st && `${st.ino}:${st.size}:${st.mtimeMs}`;
      const known = this.byFile.get(name);
      if (!full && known && stamp !== undefined && known.stamp === stamp) continue;
      const text = await readFile(join(this.dir, name), 'utf8').catch(() => undefined);
      if (text === undefined) continue;
      if (known?.text === text) {
        known.stamp = stamp;
        continue;
      }
      try {
        const { pods, warnings } = decodePods(text, join(this.dir, name));
        for (const w of warnings) this.logger.warn({ file: name }, w);
        this.byFile.set(name, { text, pods, stamp });
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
