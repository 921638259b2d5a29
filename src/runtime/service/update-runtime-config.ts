import type { UnaryImpl } from '../../cri/index.js';
import type { RuntimeContext } from '../runtime-context.js';

/** UpdateRuntimeConfig: the node's pod CIDR, applied to corelet's own default CNI config. */
export const updateRuntimeConfig = (rt: RuntimeContext): UnaryImpl<'UpdateRuntimeConfig'> => async (req) => {
  const cidr = req.runtime_config?.network_config?.pod_cidr;
  if (cidr) await rt.network.setPodCidr(cidr);
  return {};
};
