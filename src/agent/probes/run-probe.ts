import type { Probe } from '../../api/index.js';
import { runExecProbe } from './exec-probe.js';
import { runHttpProbe } from './http-probe.js';
import { runTcpProbe } from './tcp-probe.js';
import { resolveProbePort } from './port.js';
import type { ProbeDeps, ProbeOutcome, ProbeTarget } from './probe-types.js';
import { messageOf } from '../../lib/index.js';

/**
 * Runs one probe once against a container: exec, httpGet or tcpSocket, whichever the probe sets.
 * Never rejects: anything that goes wrong (a bad named port, no pod IP) is a Failure whose output
 * says why.
 */
export async function runProbe(probe: Probe, target: ProbeTarget, deps: ProbeDeps): Promise<ProbeOutcome> {
  // The API defaults timeoutSeconds to 1; guard against a zero that would time out instantly.
  const timeoutSeconds = probe.timeoutSeconds > 0 ? probe.timeoutSeconds : 1;
  try {
    if (probe.exec) return await runExecProbe(probe.exec, target.containerId, timeoutSeconds, deps);
    if (probe.httpGet) {
      const host = probe.httpGet.host || target.podIP;
      if (!host) return { result: 'Failure', output: 'HTTP probe failed: the pod has no IP yet' };
      const port = resolveProbePort(probe.httpGet.port, target.ports);
      return await runHttpProbe(probe.httpGet, host, port, timeoutSeconds);
    }
    if (probe.tcpSocket) {
      const host = probe.tcpSocket.host || target.podIP;
      if (!host) return { result: 'Failure', output: 'TCP probe failed: the pod has no IP yet' };
      const port = resolveProbePort(probe.tcpSocket.port, target.ports);
      return await runTcpProbe(host, port, timeoutSeconds);
    }
    return { result: 'Failure', output: 'missing probe handler: set exec, httpGet or tcpSocket' };
  } catch (err) {
    return { result: 'Failure', output: messageOf(err) };
  }
}
