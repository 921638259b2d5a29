import type { UnaryImpl } from '../../cri/index.js';
import { CoreletError } from '../../lib/index.js';
import type { RuntimeContext } from '../runtime-context.js';

/** CheckpointContainer needs CRIU-based checkpoint/restore, which corelet does not do. */
export const checkpointContainer = (_rt: RuntimeContext): UnaryImpl<'CheckpointContainer'> => async () => {
  throw new CoreletError('Unimplemented', 'CheckpointContainer is not supported by corelet: container checkpoint/restore (CRIU) is not implemented');
};

/** CheckpointPod (CRI v1.37) needs the same CRIU-based checkpointing, for every container of a pod. */
export const checkpointPod = (_rt: RuntimeContext): UnaryImpl<'CheckpointPod'> => async () => {
  throw new CoreletError('Unimplemented', 'CheckpointPod is not supported by corelet: pod checkpoint/restore (CRIU) is not implemented');
};

/** RestorePod (CRI v1.37) restores what CheckpointPod wrote: not supported either. */
export const restorePod = (_rt: RuntimeContext): UnaryImpl<'RestorePod'> => async () => {
  throw new CoreletError('Unimplemented', 'RestorePod is not supported by corelet: pod checkpoint/restore (CRIU) is not implemented');
};
