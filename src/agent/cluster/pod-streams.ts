/**
 * Exec, attach and port-forward on the agent's port: the pod and container named in the kubelet's
 * path are found in the runtime, and the runtime's CRI Exec/Attach/PortForward answers with the
 * streaming URL the agent relays the client's upgrade to (agent/http).
 */
import type { Pod } from '../../api/index.js';
import type { CriClient } from '../../cri/index.js';
import { failedPrecondition, notFound } from '../../lib/index.js';
import type { PodStreamRequest } from '../http/index.js';
import { LABELS } from '../cri-config.js';

/** What the streams need: the pods this agent runs, and the runtime. */
export interface PodStreamsOptions {
  pods: () => Pod[];
  cri: Pick<CriClient, 'runtime'>;
  nodeName: string;
}

/** The runtime's streaming URL for a stream request; NotFound / FailedPrecondition naming what is missing. */
export function criStreamUrl(opts: PodStreamsOptions): (r: PodStreamRequest) => Promise<string> {
  return async (r) => {
    const ref = `${r.namespace}/${r.name}`;
    const pod = opts.pods().find((p) => p.metadata.namespace === r.namespace && p.metadata.name === r.name && (r.uid === undefined || p.metadata.uid === r.uid));
    if (!pod) throw notFound(`pod ${ref}${r.uid ? ` (uid ${r.uid})` : ''} does not run on node ${opts.nodeName}`);
    const uid = pod.metadata.uid;
    if (r.kind === 'portforward') {
      const sandboxes = await opts.cri.runtime.ListPodSandbox({ filter: { label_selector: { [LABELS.podUid]: uid } } });
      const ready = sandboxes.items.filter((s) => s.state === 'SANDBOX_READY').sort((a, b) => Number(BigInt(b.created_at) - BigInt(a.created_at)))[0];
      if (!ready) throw failedPrecondition(`pod ${ref} has no running sandbox on node ${opts.nodeName} (not started yet, or stopped)`);
      return (await opts.cri.runtime.PortForward({ pod_sandbox_id: ready.id, port: r.ports })).url;
    }
    const container = r.container!;
    const names = [...pod.spec.containers, ...pod.spec.initContainers].map((c) => c.name);
    if (!names.includes(container)) throw notFound(`container ${container} is not in pod ${ref}; its containers: ${names.join(', ')}`);
    const list = await opts.cri.runtime.ListContainers({ filter: { label_selector: { [LABELS.podUid]: uid, [LABELS.containerName]: container } } });
    const running = list.containers.filter((c) => c.state === 'CONTAINER_RUNNING').sort((a, b) => Number(BigInt(b.created_at) - BigInt(a.created_at)))[0];
    if (!running) throw failedPrecondition(`container ${container} in pod ${ref} is not running`);
    if (r.kind === 'attach') {
      return (await opts.cri.runtime.Attach({ container_id: running.id, stdin: r.stdin, stdout: r.stdout, stderr: r.stderr, tty: r.tty })).url;
    }
    return (await opts.cri.runtime.Exec({ container_id: running.id, cmd: r.command, stdin: r.stdin, stdout: r.stdout, stderr: r.stderr, tty: r.tty })).url;
  };
}
