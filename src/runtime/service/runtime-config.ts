import type { UnaryImpl } from '../../cri/index.js';
import type { RuntimeContext } from '../runtime-context.js';

/** RuntimeConfig: corelet manages cgroups through cgroupfs (runc's cgroupfs driver). */
export const runtimeConfig = (_rt: RuntimeContext): UnaryImpl<'RuntimeConfig'> => async () => ({
  linux: { cgroup_driver: 'CGROUPFS' },
});
