import { grpcCodeName, type CriClient } from '../../cri/index.js';
import type { AgentMetrics } from './agent-metrics.js';

/**
 * Returns client with every call of client.runtime and client.image timed into
 * corelet_cri_call_duration_seconds{method} and failures counted in
 * corelet_cri_call_errors_total{method,code}, so the agent measures its CRI calls in one place.
 * admin, raw and close are passed through.
 */
export function instrumentCriClient(client: CriClient, metrics: AgentMetrics): CriClient {
  return {
    ...client,
    runtime: instrument(client.runtime, metrics),
    image: instrument(client.image, metrics),
    close: () => client.close(),
  };
}

function instrument<S extends object>(service: S, metrics: AgentMetrics): S {
  return new Proxy(service, {
    get(target, method, receiver) {
      const fn = Reflect.get(target, method, receiver) as unknown;
      if (typeof fn !== 'function' || typeof method !== 'string') return fn;
      return async (...args: unknown[]) => {
        const start = process.hrtime.bigint();
        const seconds = () => Number(process.hrtime.bigint() - start) / 1e9;
        try {
          const res = await (fn as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          metrics.observeCri(method, seconds());
          return res;
        } catch (err) {
          metrics.observeCri(method, seconds(), grpcCodeName(err));
          throw err;
        }
      };
    },
  });
}
