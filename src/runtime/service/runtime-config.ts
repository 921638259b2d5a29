import type { UnaryImpl } from '../../cri/index.js';
import type { RuntimeContext } from '../runtime-context.js';

/**
 * RuntimeConfig: the runtime's cgroup driver, which a kubelet (KubeletCgroupDriverFromCRI) and
 * corelet's agent take as theirs when not told otherwise.
 */
export const runtimeConfig = (rt: RuntimeContext): UnaryImpl<'RuntimeConfig'> => async () => ({
  linux: { cgroup_driver: rt.deps.config.cgroupDriver === 'systemd' ? 'SYSTEMD' : 'CGROUPFS' },
});
