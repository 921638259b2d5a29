import type { UnaryImpl } from '../../cri/index.js';
import type { RuntimeContext } from '../runtime-context.js';

export const status = (rt: RuntimeContext): UnaryImpl<'Status'> => async (req) => {
  const net = await rt.deps.network.status();
  const handler = rt.deps.config.ociRuntime.name;
  const features = { recursive_read_only_mounts: true, user_namespaces: false };
  return {
    status: {
      conditions: [
        { type: 'RuntimeReady', status: true, reason: '', message: '' },
        { type: 'NetworkReady', status: net.ready, reason: net.ready ? '' : net.reason, message: net.ready ? '' : net.message },
      ],
    },
    runtime_handlers: [
      { name: '', features },
      { name: handler, features },
    ],
    features: { supplemental_groups_policy: true, mount_options: true },
    info: req.verbose
      ? <Record<string, string>>{
          config: JSON.stringify({
            root: rt.deps.config.root,
            state: rt.deps.config.state,
            ociRuntime: rt.deps.config.ociRuntime,
            conmon: rt.deps.config.conmonPath,
            cni: rt.deps.config.cni,
            pauseImage: rt.deps.config.pauseImage,
            cgroupDriver: rt.deps.config.cgroupDriver ?? 'cgroupfs',
            cgroupVersion: rt.deps.host.cgroupV2 ? 'v2' : 'v1',
          }),
        }
      : {},
  };
};
