/**
 * A `yes` pod's log folder: how big it gets in --seconds (default 60) under a standalone agent on a
 * private runtime, sampled every second, and whether it is left after the pod is deleted. Run as
 * root with the local registry up; `CORELET_TEST_BIN=/other/dist/src/cli/main.js` measures another
 * build (e.g. main before the log rotation). Extra agent flags: --agent-args "--container-log-max-size 1Mi".
 */
import { execa } from 'execa';
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { RuntimeHarness, BUSYBOX, CORELET } from '../test/helpers/runtime-harness.js';
import { AgentHarness } from '../test/helpers/agent-harness.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '60' }, 'agent-args': { type: 'string', default: '' } } });
const seconds = Number(values.seconds);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const du = async (dir: string) => Number((await execa('du', ['-sb', dir], { reject: false })).stdout.split('\t')[0] || 0);

const runtime = await RuntimeHarness.start();
let agent: AgentHarness | undefined;
try {
  await runtime.crictl(['pull', BUSYBOX]);
  agent = await AgentHarness.start(`unix://${runtime.socket}`, values['agent-args']!.split(' ').filter(Boolean));
  await agent.apply('yes.yaml', `apiVersion: v1\nkind: Pod\nmetadata: {name: yes}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n  - {name: c, image: ${BUSYBOX}, command: [yes]}\n`);
  const p = await agent.waitFor('yes', (x) => x.status?.phase === 'Running', 60_000);
  const dir = `${agent.logDir}/default_yes_${p.metadata.uid}`;
  const samples: number[] = [];
  const start = Date.now();
  while (Date.now() - start < seconds * 1000) {
    await sleep(1000);
    samples.push(await du(dir));
  }
  const load = (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
  const files = (await execa('ls', ['-l', `${dir}/c`])).stdout;
  await agent.remove('yes.yaml');
  for (let i = 0; i < 120 && (await agent.pod('yes')); i++) await sleep(250);
  await sleep(1000);
  const left = await du(dir);
  const mb = (n: number) => (n / 1e6).toFixed(0);
  const sorted = [...samples].sort((a, b) => a - b);
  console.log(`binary ${CORELET}, ${new Date().toISOString()}, load ${load}`);
  console.log(`log folder over ${seconds} s (MB, every second): ${samples.map(mb).join(' ')}`);
  console.log(`end ${mb(samples.at(-1) ?? 0)} MB, median ${mb(sorted[sorted.length >> 1] ?? 0)} MB, max ${mb(sorted.at(-1) ?? 0)} MB; after deleting the pod: ${left ? `${mb(left)} MB left` : 'removed'}`);
  console.log(files);
} finally {
  if (agent) {
    await agent.remove('yes.yaml');
    for (let i = 0; i < 120 && (await agent.pods().catch(() => [])).length > 0; i++) await sleep(250);
    await agent.stop();
  }
  await runtime.stop();
  await agent?.removeCgroups();
}
