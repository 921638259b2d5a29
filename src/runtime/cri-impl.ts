import type { CriImpl } from '../cri/server.js';
import type { RuntimeContext } from './runtime-context.js';
import { version } from './service/version.js';
import { status } from './service/status.js';
import { runtimeConfig } from './service/runtime-config.js';
import { imageFsInfo, imageStatus, listImages, pullImage, removeImage } from './service/images.js';
import { runPodSandbox } from './sandbox/sandbox-run.js';
import { stopPodSandbox } from './sandbox/sandbox-stop.js';
import { removePodSandbox } from './sandbox/sandbox-remove.js';
import { podSandboxStatusRpc } from './sandbox/sandbox-status.js';
import { listPodSandbox } from './sandbox/sandbox-list.js';
import { createContainer } from './container/container-create.js';
import { startContainer } from './container/container-start.js';
import { stopContainer } from './container/container-stop.js';
import { removeContainer } from './container/container-remove.js';
import { containerStatusRpc } from './container/container-status.js';
import { listContainers } from './container/container-list.js';
import { updateContainerResources } from './container/container-update.js';
import { reopenContainerLog } from './container/container-reopen-log.js';
import { execSync } from './container/container-exec-sync.js';
import { containerStatsRpc, listContainerStats } from './container/container-stats.js';
import { listPodSandboxStats, podSandboxStatsRpc } from './sandbox/sandbox-stats.js';
import { listMetricDescriptors, listPodSandboxMetrics } from './service/metrics.js';
import { updateRuntimeConfig } from './service/update-runtime-config.js';
import { checkpointContainer } from './service/checkpoint.js';
import { getContainerEvents } from './service/events.js';
import { attach, exec } from './container/container-exec.js';
import { portForward } from './sandbox/sandbox-port-forward.js';

/** The CRI RPCs corelet runtime implements; the rest answer UNIMPLEMENTED (src/cri/server.ts). */
export function criImpl(rt: RuntimeContext): CriImpl {
  return {
    Version: version(rt),
    Status: status(rt),
    RuntimeConfig: runtimeConfig(rt),
    RunPodSandbox: runPodSandbox(rt),
    StopPodSandbox: stopPodSandbox(rt),
    RemovePodSandbox: removePodSandbox(rt),
    PodSandboxStatus: podSandboxStatusRpc(rt),
    ListPodSandbox: listPodSandbox(rt),
    CreateContainer: createContainer(rt),
    StartContainer: startContainer(rt),
    StopContainer: stopContainer(rt),
    RemoveContainer: removeContainer(rt),
    ContainerStatus: containerStatusRpc(rt),
    ListContainers: listContainers(rt),
    UpdateContainerResources: updateContainerResources(rt),
    ReopenContainerLog: reopenContainerLog(rt),
    ExecSync: execSync(rt),
    ContainerStats: containerStatsRpc({ cgroups: rt.deps.cgroups, store: rt.deps.store, images: rt.images }),
    ListContainerStats: listContainerStats({ cgroups: rt.deps.cgroups, store: rt.deps.store, images: rt.images }),
    PodSandboxStats: podSandboxStatsRpc(rt),
    ListPodSandboxStats: listPodSandboxStats(rt),
    ListMetricDescriptors: listMetricDescriptors(rt),
    ListPodSandboxMetrics: listPodSandboxMetrics(rt),
    UpdateRuntimeConfig: updateRuntimeConfig(rt),
    CheckpointContainer: checkpointContainer(rt),
    GetContainerEvents: getContainerEvents(rt),
    Exec: exec(rt),
    Attach: attach(rt),
    PortForward: portForward(rt),
    ListImages: listImages(rt),
    ImageStatus: imageStatus(rt),
    PullImage: pullImage(rt),
    RemoveImage: removeImage(rt),
    ImageFsInfo: imageFsInfo(rt),
  };
}
