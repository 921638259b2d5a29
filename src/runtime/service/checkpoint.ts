import type { UnaryImpl } from '../../cri/index.js';
import { CoreletError } from '../../lib/index.js';
import type { RuntimeContext } from '../runtime-context.js';

/** CheckpointContainer needs CRIU-based checkpoint/restore, which corelet does not do. */
export const checkpointContainer = (_rt: RuntimeContext): UnaryImpl<'CheckpointContainer'> => async () => {
  throw new CoreletError('Unimplemented', 'CheckpointContainer is not supported by corelet: container checkpoint/restore (CRIU) is not implemented');
};
