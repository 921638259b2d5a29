import * as net from 'node:net';
import type { ProbeOutcome } from './probe-types.js';
import { hostPort } from './port.js';
import { setLongTimeout } from '../../lib/index.js';

/** TCP probe: success when a connection is established within timeoutSeconds; closed right away. */
export function runTcpProbe(host: string, port: number, timeoutSeconds: number): Promise<ProbeOutcome> {
  const where = hostPort(host, port);
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const timer = setLongTimeout(() => finish({ result: 'Failure', output: `dial tcp ${where}: i/o timeout` }), timeoutSeconds * 1000);
    function finish(outcome: ProbeOutcome): void {
      timer.clear();
      socket.destroy();
      resolve(outcome);
    }
    socket.once('connect', () => finish({ result: 'Success', output: '' }));
    socket.on('error', (err) => finish({ result: 'Failure', output: `dial tcp ${where}: ${err.message}` }));
  });
}
