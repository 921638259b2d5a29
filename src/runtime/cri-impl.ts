import type { CriImpl } from '../cri/index.js';
import type { RuntimeContext } from './runtime-context.js';
import { version } from './service/version.js';
import { status } from './service/status.js';
import { runtimeConfig } from './service/runtime-config.js';
import { imageFsInfo, imageStatus, listImages, pullImage, removeImage } from './service/images.js';
import { runPodSandboxRpc } from './sandbox/sandbox-run.js';
import { stopPodSandboxRpc } from './sandbox/sandbox-stop.js';
import { removePodSandboxRpc } from './sandbox/sandbox-remove.js';
import { podSandboxStatusRpc } from './sandbox/sandbox-status.js';
import { listPodSandbox } from './sandbox/sandbox-list.js';
import { createContainerRpc } from './container/container-create.js';
import { startContainerRpc } from './container/container-start.js';
import { stopContainerRpc } from './container/container-stop.js';
import { removeContainerRpc } from './container/container-remove.js';
import { containerStatusRpc } from './container/container-status.js';
import { listContainers } from './container/container-list.js';
import { updateContainerResourcesRpc } from './container/container-update.js';
import { reopenContainerLog } from './container/container-reopen-log.js';
import { execSync } from './container/container-exec-sync.js';
import { containerStatsRpc, listContainerStats } from './container/container-stats.js';
import { listPodSandboxStats, podSandboxStatsRpc } from './sandbox/sandbox-stats.js';
import { listMetricDescriptors, listPodSandboxMetrics } from './service/metrics.js';
import { updateRuntimeConfig } from './service/update-runtime-config.js';
import { checkpointContainer, checkpointPod, restorePod } from './service/checkpoint.js';
import { getContainerEvents } from './service/events.js';
import { attach, exec } from './container/container-exec.js';
import { portForward } from './sandbox/sandbox-port-forward.js';

/** The CRI RPCs corelet runtime implements; the rest answer UNIMPLEMENTED (src/cri/server.ts). */
export function criImpl(rt: RuntimeContext): CriImpl {
  // What the container and sandbox handlers are given; each takes only what its deps type names.
  const d = { ...rt.deps, sandboxes: rt.sandboxes, containers: rt.containers, images: rt.images, cgroups: rt.cgroups, streaming: rt.streaming };
  return {
    Version: version(rt),
    Status: status(rt),
    RuntimeConfig: runtimeConfig(rt),
    RunPodSandbox: runPodSandboxRpc(rt.verbs),
    StopPodSandbox: stopPodSandboxRpc(rt.verbs),
    RemovePodSandbox: removePodSandboxRpc(rt.verbs),
    PodSandboxStatus: podSandboxStatusRpc(d),
    ListPodSandbox: listPodSandbox(d),
    CreateContainer: createContainerRpc(rt.verbs),
    StartContainer: startContainerRpc(rt.verbs),
    StopContainer: stopContainerRpc(rt.verbs),
    RemoveContainer: removeContainerRpc(rt.verbs),
    ContainerStatus: containerStatusRpc(d),
    ListContainers: listContainers(d),
    UpdateContainerResources: updateContainerResourcesRpc(rt.verbs),
    ReopenContainerLog: reopenContainerLog(d),
    ExecSync: execSync(d),
    ContainerStats: containerStatsRpc(d),
    ListContainerStats: listContainerStats(d),
    PodSandboxStats: podSandboxStatsRpc(d),
    ListPodSandboxStats: listPodSandboxStats(d),
    ListMetricDescriptors: listMetricDescriptors(rt),
    ListPodSandboxMetrics: listPodSandboxMetrics(rt),
    UpdateRuntimeConfig: updateRuntimeConfig(rt),
    CheckpointContainer: checkpointContainer(rt),
    CheckpointPod: checkpointPod(rt),
    RestorePod: restorePod(rt),
    GetContainerEvents: getContainerEvents(rt),
    Exec: exec(d),
    Attach: attach(d),
    PortForward: portForward(d),
    ListImages: listImages(rt),
    ImageStatus: imageStatus(rt),
    PullImage: pullImage(rt),
    RemoveImage: removeImage(rt),
    ImageFsInfo: imageFsInfo(rt),
  };
}
