import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cleanUpAfter, fakeContainerConfig, fakePodConfig, fakeRuntime } from './fakes.js';
import { isKind } from '../../../src/lib/index.js';
import { exitDir } from '../../../src/runtime/lifecycle.js';
import { runtimeConfig } from '../../../src/runtime/service/runtime-config.js';
import type { RuntimeContext } from '../../../src/runtime/runtime-context.js';
import type { PodSandboxConfig__Output } from '../../../src/cri/types.js';

const withParent = (name: string, cgroup_parent: string): PodSandboxConfig__Output => ({ ...fakePodConfig(name), linux: { cgroup_parent } as never });
const ociCgroupsPath = async (dir: string) => (JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as { linux: { cgroupsPath: string } }).linux.cgroupsPath;

test('systemd driver: a slice parent becomes slice:corelet:<id> in the OCI specs; stats read the scope under the slice path', async (t) => {
  const rt = await fakeRuntime({}, { cgroupDriver: 'systemd', defaultCgroupParent: 'corelet.slice' });
  cleanUpAfter(t, rt.containers, rt.root);
  const slice = 'kubepods-burstable-pod6f1c_2a3b.slice';
  (rt.deps.cgroups as { exists: (p: string) => Promise<boolean> }).exists = async (p) => p.endsWith(slice); // the agent made it
  for (const parent of [slice, `/kubepods.slice/kubepods-burstable.slice/${slice}`]) {
    const id = await rt.verbs.runPodSandbox(withParent('web', parent), '');
    const rec = rt.deps.store.sandbox(id);
    assert.equal(rec.cgroupSlice, slice);
    assert.equal(rec.cgroupParent, `/kubepods.slice/kubepods-burstable.slice/${slice}`);
    assert.equal(await ociCgroupsPath(rt.sandboxes.dir(id)), `${slice}:corelet:${id}`);
    const cid = await rt.verbs.createContainer(id, fakeContainerConfig('app'), null);
    assert.equal(rt.deps.store.container(cid).cgroupsPath, `/kubepods.slice/kubepods-burstable.slice/${slice}/corelet-${cid}.scope`);
    assert.equal(await ociCgroupsPath(rt.containers.dir(cid)), `${slice}:corelet:${cid}`);
    await rt.verbs.removePodSandbox(id);
  }
  assert.deepEqual(rt.host.stoppedUnits, [], 'a requested parent that was there is the requester\'s (the agent\'s) to remove');
  // one that was not (crictl's): the runtime made it, so it stops it, leaving no empty slice
  const id = await rt.verbs.runPodSandbox(withParent('crictl', 'cgd-test.slice'), '');
  await rt.verbs.removePodSandbox(id);
  assert.deepEqual(rt.host.stoppedUnits, ['cgd-test.slice']);
});

test('systemd driver: a pod without a parent gets a slice of its own, stopped with the sandbox', async (t) => {
  const rt = await fakeRuntime({}, { cgroupDriver: 'systemd', defaultCgroupParent: 'corelet.slice' });
  cleanUpAfter(t, rt.containers, rt.root);
  const id = await rt.verbs.runPodSandbox(fakePodConfig('db'), '');
  const rec = rt.deps.store.sandbox(id);
  assert.equal(rec.cgroupSlice, `corelet-pod${id}.slice`);
  assert.equal(rec.cgroupParent, `/corelet.slice/corelet-pod${id}.slice`);
  assert.equal(await ociCgroupsPath(rt.sandboxes.dir(id)), `corelet-pod${id}.slice:corelet:${id}`);
  await rt.verbs.removePodSandbox(id);
  assert.deepEqual(rt.host.stoppedUnits, [`corelet-pod${id}.slice`]);
});

test('systemd driver: a cgroupfs parent is refused naming the field, before anything is made', async (t) => {
  const rt = await fakeRuntime({}, { cgroupDriver: 'systemd', defaultCgroupParent: 'corelet.slice' });
  cleanUpAfter(t, rt.containers, rt.root);
  await assert.rejects(
    rt.verbs.runPodSandbox(withParent('x', '/kubepods/burstable/pod1'), ''),
    (e: unknown) => isKind(e, 'InvalidArgument') && /config\.linux\.cgroup_parent "\/kubepods\/burstable\/pod1" is not a systemd slice: this runtime uses the systemd cgroup driver/.test(String(e)),
  );
  assert.deepEqual(rt.deps.store.listSandboxes(), []);
  assert.equal(rt.host.netns.size, 0);
});

test('cgroupfs driver: a slice parent is refused naming the field; cgroupfs parents stay as they were', async (t) => {
  const rt = await fakeRuntime();
  cleanUpAfter(t, rt.containers, rt.root);
  await assert.rejects(rt.verbs.runPodSandbox(withParent('x', 'kubepods-pod1.slice'), ''), /config\.linux\.cgroup_parent "kubepods-pod1.slice" is a systemd slice, but this runtime uses the cgroupfs cgroup driver/);
  const id = await rt.verbs.runPodSandbox(withParent('y', '/kubepods/pod1'), '');
  assert.equal(rt.deps.store.sandbox(id).cgroupSlice, undefined);
  assert.equal(await ociCgroupsPath(rt.sandboxes.dir(id)), `/kubepods/pod1/${id}`);
  await rm(join(rt.root, 'nothing'), { force: true });
});

test('RuntimeConfig reports the driver', async () => {
  const ask = (cgroupDriver?: 'systemd' | 'cgroupfs') => runtimeConfig({ deps: { config: { cgroupDriver } } } as unknown as RuntimeContext)({} as never);
  assert.deepEqual(await ask('systemd'), { linux: { cgroup_driver: 'SYSTEMD' } });
  assert.deepEqual(await ask('cgroupfs'), { linux: { cgroup_driver: 'CGROUPFS' } });
  assert.deepEqual(await ask(undefined), { linux: { cgroup_driver: 'CGROUPFS' } });
});

test('systemd driver: an exit 137 after the pod slice counted an OOM kill is OOMKilled, though the scope (and its count) is gone', async (t) => {
  const rt = await fakeRuntime({}, { cgroupDriver: 'systemd', defaultCgroupParent: 'corelet.slice' });
  cleanUpAfter(t, rt.containers, rt.root);
  const kills = new Map<string, number>(); // the pod slices' memory.events oom_kill; no scope has one
  (rt.deps.cgroups as { stats: (p: string) => Promise<unknown> }).stats = async (p) => (kills.has(p) ? { oomKills: kills.get(p) } : undefined);
  const exit = async (id: string, code: number) => {
    await mkdir(exitDir(rt.deps.config), { recursive: true });
    await writeFile(join(exitDir(rt.deps.config), id), String(code));
    return (await rt.containers.refresh(id))!;
  };
  const sandboxId = await rt.verbs.runPodSandbox(fakePodConfig('hog'), '');
  const slice = rt.deps.store.sandbox(sandboxId).cgroupParent;
  kills.set(slice, 2); // earlier kills in this pod do not count
  const hog = await rt.verbs.createContainer(sandboxId, fakeContainerConfig('hog'), null);
  await rt.verbs.startContainer(hog);
  const calm = await rt.verbs.createContainer(sandboxId, fakeContainerConfig('calm'), null);
  await rt.verbs.startContainer(calm);
  const stopped = await rt.verbs.createContainer(sandboxId, fakeContainerConfig('stopped'), null);
  await rt.verbs.startContainer(stopped);
  assert.equal((await exit(stopped, 137)).reason, 'Error', 'a SIGKILL with no OOM kill since its start is an Error');
  kills.set(slice, 3);
  assert.deepEqual([(await exit(hog, 137)).reason, rt.deps.store.container(hog).exitCode], ['OOMKilled', 137]);
  assert.equal((await exit(calm, 1)).reason, 'Error', 'an exit other than 137 is not an OOM kill');
});

test('systemd driver: an OOM kill at once on start is OOMKilled; a stop that ends in the runtime\'s own SIGKILL is not, whatever the slice counted', async (t) => {
  const rt = await fakeRuntime({}, { cgroupDriver: 'systemd', defaultCgroupParent: 'corelet.slice' });
  cleanUpAfter(t, rt.containers, rt.root);
  const kills = new Map<string, number>();
  (rt.deps.cgroups as { stats: (p: string) => Promise<unknown> }).stats = async (p) => (kills.has(p) ? { oomKills: kills.get(p) } : undefined);
  const sandboxId = await rt.verbs.runPodSandbox(fakePodConfig('pod'), '');
  const slice = rt.deps.store.sandbox(sandboxId).cgroupParent;
  kills.set(slice, 0);
  // the process is OOM-killed as it starts: its exit is seen before StartContainer returns
  const instant = await rt.verbs.createContainer(sandboxId, fakeContainerConfig('instant'), null);
  const start = rt.deps.oci.start.bind(rt.deps.oci);
  rt.deps.oci.start = async (id) => {
    await start(id);
    if (id !== instant) return;
    kills.set(slice, 1);
    await mkdir(exitDir(rt.deps.config), { recursive: true });
    await writeFile(join(exitDir(rt.deps.config), id), '137');
    await rt.containers.refresh(id);
  };
  await rt.verbs.startContainer(instant);
  assert.deepEqual([rt.deps.store.container(instant).state, rt.deps.store.container(instant).reason], ['exited', 'OOMKilled']);
  // a container that ignores SIGTERM, stopped after a sidecar's OOM kill in the same pod slice
  const stubborn = await rt.verbs.createContainer(sandboxId, fakeContainerConfig('stubborn'), null);
  await rt.verbs.startContainer(stubborn);
  rt.host.onStopSignal.set(stubborn, 'ignore');
  kills.set(slice, 2);
  await rt.verbs.stopContainer(stubborn, 1);
  const rec = rt.deps.store.container(stubborn);
  assert.deepEqual([rec.exitCode, rec.reason], [137, 'Error'], 'the runtime\'s SIGKILL after the grace period is not an OOM kill');
});

test('systemd driver: a slice the runtime made is not stopped while it still holds another cgroup (a nested slice of another pod, a process)', async (t) => {
  const rt = await fakeRuntime({}, { cgroupDriver: 'systemd', defaultCgroupParent: 'corelet.slice' });
  cleanUpAfter(t, rt.containers, rt.root);
  const team = await rt.verbs.runPodSandbox(withParent('p1', 'team.slice'), '');
  await rt.verbs.runPodSandbox(withParent('p2', 'team-a.slice'), ''); // systemd puts it inside team.slice
  const busy = rt.deps.store.sandbox(team).cgroupParent;
  (rt.deps.cgroups as { removeIfEmpty: (p: string) => Promise<unknown> }).removeIfEmpty = async (p) => ({ removed: [], busy: p === busy ? [p] : [] });
  await rt.verbs.removePodSandbox(team);
  assert.deepEqual(rt.host.stoppedUnits, [], 'team.slice holds team-a.slice: not stopped');
});
