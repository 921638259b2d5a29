/** The agent's standalone scenario over corelet runtime. */
import { RuntimeHarness, BUSYBOX } from '../../helpers/runtime-harness.js';
import { standaloneSuite } from './standalone-suite.js';

let runtime: RuntimeHarness | undefined;
standaloneSuite('corelet runtime', {
  async start() {
    runtime = await RuntimeHarness.start();
    await runtime.crictl(['pull', BUSYBOX]);
    return `unix://${runtime.socket}`;
  },
  async stop() {
    await runtime?.stop();
  },
});
