/** Runtime state records as the runtime's store keeps them, for tests of the store (not what the managers write). */
import type { ContainerRecord, SandboxRecord } from '../../src/runtime/store/index.js';

/** A ready sandbox record ID named NAME (pod-ID), cgroup parent /x, no network. */
export function sandboxRecord(id: string, name = `pod-${id}`): SandboxRecord {
  return {
    id,
    name,
    config: { metadata: { name, namespace: 'ns', uid: 'u', attempt: 0 } } as SandboxRecord['config'],
    runtimeHandler: '',
    state: 'ready',
    createdAt: '1',
    netnsPath: null,
    ip: '',
    additionalIps: [],
    pausePid: 0,
    cgroupParent: '/x',
    ownsCgroupParent: true,
    shmMounted: false,
  };
}

/** A created container record ID of SANDBOXID (image busybox, cgroup /x/c). */
export function containerRecord(id: string, sandboxId: string): ContainerRecord {
  return {
    id,
    sandboxId,
    name: `c-${id}`,
    config: { metadata: { name: 'c', attempt: 0 } } as ContainerRecord['config'],
    imageName: 'busybox',
    imageId: 'sha256:x',
    state: 'created',
    createdAt: '1',
    startedAt: '0',
    finishedAt: '0',
    exitCode: 0,
    reason: '',
    message: '',
    pid: 0,
    logPath: '',
    cgroupsPath: '/x/c',
    stopSignal: 15,
    user: { uid: 0, gid: 0, additionalGids: [] },
  };
}
