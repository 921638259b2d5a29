/**
 * test/vm's long form (CORELET_VM_LONG=1 npm run test:vm, as root; not in CI): three lab VMs
 * provisioned as the Vagrantfile provisions its machines, with native-scripts/node/provision.sh
 * (--prebuilt: the host's build on the /opt/corelet disk): vml1 the control plane, vml2 and vml3
 * nodes that join it with the join settings the control plane wrote (copied through the host, as
 * Vagrant's shared folder carries them). Then both nodes must be Ready, the Zeus example runs with
 * its page on NodePort 30080 of both nodes, and a node whose VM is powered off (the kernel gone,
 * `lab.sh poweroff`) turns NotReady.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { REPO } from '../helpers/runtime-harness.js';

const LAB = join(REPO, 'native-scripts', 'vm', 'lab.sh');
const long = process.env.CORELET_VM_LONG === '1';
const started = Date.now();
let joinDir = '';

async function lab(args: string[]) {
  const r = await execa(LAB, args, { reject: false, all: true });
  assert.equal(r.exitCode, 0, `lab.sh ${args.join(' ')}:\n${r.all}`);
  return r;
}
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;

before(async () => {
  if (!long) return;
  joinDir = await mkdtemp(join(tmpdir(), 'vml-join-'));
  await lab(['up', '3']);
  console.log(`# 3 VMs up after ${elapsed()}`);
});

after(async () => {
  if (!long) return;
  await lab(['down']);
  await rm(joinDir, { recursive: true, force: true });
  console.log(`# vm long form: ${elapsed()}`);
});

test('a control plane and two nodes provisioned by provision.sh: both nodes join and are Ready', { skip: !long && 'CORELET_VM_LONG=1 runs the long form' }, async () => {
  await lab(['provision', 'vml1', 'control-plane', '--join-dir', '/root/join']);
  console.log(`# control plane provisioned after ${elapsed()}`);
  await lab(['get', 'vml1', '/root/join', joinDir]);
  for (const node of ['vml2', 'vml3']) await lab(['put', node, join(joinDir, 'join'), '/root/']);
  await Promise.all(['vml2', 'vml3'].map((node) => lab(['provision', node, 'node', '--join-dir', '/root/join'])));
  console.log(`# nodes provisioned after ${elapsed()}`);
  let out = '';
  for (let i = 0; i < 60; i++) {
    out = (await lab(['run', 'vml1', 'corelet get nodes'])).stdout;
    if (/^vml2\s+Ready/m.test(out) && /^vml3\s+Ready/m.test(out)) break;
    await new Promise((r) => setTimeout(r, 5000));
  }
  console.log(`# nodes Ready after ${elapsed()}:\n${out}`);
  assert.match(out, /^vml2\s+Ready/m);
  assert.match(out, /^vml3\s+Ready/m);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('the Zeus example runs over both nodes; powering a node off makes it NotReady', { skip: !long && 'CORELET_VM_LONG=1 runs the long form' }, async () => {
  await lab(['run', 'vml1', 'corelet apply -f /opt/corelet/examples/zeus.yaml']);
  let pods = '';
  for (let i = 0; i < 60; i++) {
    pods = (await lab(['run', 'vml1', 'corelet get pods -o wide'])).stdout;
    if ((pods.match(/\s1\/1\s+Running\s/g) ?? []).length === 7) break;
    await sleep(5000);
  }
  console.log(`# Zeus Running after ${elapsed()}:\n${pods}`);
  assert.equal((pods.match(/\s1\/1\s+Running\s/g) ?? []).length, 7, pods);
  for (const ip of ['10.75.0.12', '10.75.0.13']) {
    const page = (await lab(['run', 'vml1', `busybox wget -qO- http://${ip}:30080/`])).stdout;
    assert.match(page, /<h1>Zeus ZAP<\/h1>/, `the page on ${ip}:30080`);
  }
  await lab(['poweroff', 'vml3']);
  let nodes = '';
  for (let i = 0; i < 60; i++) {
    nodes = (await lab(['run', 'vml1', 'corelet get nodes'])).stdout;
    if (/^vml3\s+NotReady/m.test(nodes)) break;
    await sleep(5000);
  }
  console.log(`# vml3 powered off, NotReady after ${elapsed()}:\n${nodes}`);
  assert.match(nodes, /^vml3\s+NotReady/m);
  assert.match(nodes, /^vml2\s+Ready/m);
});
