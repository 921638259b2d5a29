/**
 * The agent's standalone scenario over containerd (Debian's containerd 1.6 with its CRI plugin, the
 * shared conformance kit's reference setup): the agent drives any CRI runtime.
 */
import { execa } from 'execa';
import { join } from 'node:path';
import { conformanceDir } from '../../helpers/conformance.js';
import { BUSYBOX } from '../../helpers/runtime-harness.js';
import { standaloneSuite } from './standalone-suite.js';

const ENDPOINT = 'unix:///run/containerd/containerd.sock';
const script = () => join(conformanceDir(), 'containerd', 'containerd.sh');
let startedHere = false;

standaloneSuite('containerd', {
  async start() {
    const running = await execa('crictl', ['--runtime-endpoint', ENDPOINT, 'version'], { reject: false });
    if (running.exitCode !== 0) {
      await execa('bash', [script(), 'start']);
      startedHere = true;
    }
    await execa('crictl', ['--runtime-endpoint', ENDPOINT, '--image-endpoint', ENDPOINT, 'pull', BUSYBOX]);
    return ENDPOINT;
  },
  async stop() {
    if (startedHere) await execa('bash', [script(), 'stop'], { reject: false });
  },
});
