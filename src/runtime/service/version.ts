import type { UnaryImpl } from '../../cri/index.js';
import type { RuntimeContext } from '../runtime-context.js';

export const version = (rt: RuntimeContext): UnaryImpl<'Version'> => async () => ({
  version: '0.1.0',
  runtime_name: 'corelet',
  runtime_version: rt.version,
  runtime_api_version: 'v1',
});
