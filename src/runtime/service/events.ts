import type { StreamImpl } from '../../cri/index.js';
import type { RuntimeContext } from '../runtime-context.js';
import { podSandboxStatus } from '../sandbox/sandbox-view.js';
import { containerStatus } from '../container/container-view.js';

/** GetContainerEvents: every lifecycle change from now on, until the client goes away. */
export const getContainerEvents = (rt: RuntimeContext): StreamImpl<'GetContainerEvents'> => (_req, write, signal) =>
  new Promise<void>((resolve) => {
    const unsubscribe = rt.deps.events.subscribe((e) => {
      write({
        container_id: e.id,
        container_event_type: e.type,
        created_at: e.at,
        pod_sandbox_status: e.sandbox ? podSandboxStatus(e.sandbox) : null,
        containers_statuses: e.containers.map((c) => containerStatus(c, rt.images.get(c.imageId))),
      });
    });
    signal.addEventListener('abort', () => {
      unsubscribe();
      resolve();
    });
  });
