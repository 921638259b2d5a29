import { cpuMillis, memoryBytes } from '../../api/index.js';
import { invalidArgument, wrap } from '../../lib/index.js';

/** CPU and memory amounts (a reservation, a capacity, a pod's requests). */
export interface ResourceList {
  cpuMillis: number;
  memoryBytes: number;
}

/**
 * Parses a kubelet resource list flag such as --system-reserved / --kube-reserved:
 * "cpu=500m,memory=512Mi" → { cpuMillis: 500, memoryBytes: 536870912 }. Missing resources are 0, an
 * empty string reserves nothing, a later entry for the same resource wins (as the kubelet's map
 * flag does). Only cpu and memory are understood; anything else is InvalidArgument.
 */
export function parseResourceList(text: string): ResourceList {
  const out: ResourceList = { cpuMillis: 0, memoryBytes: 0 };
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    if (eq <= 0) throw invalidArgument(`resource list entry ${JSON.stringify(entry)} must be name=quantity`);
    const name = entry.slice(0, eq).trim();
    const value = entry.slice(eq + 1).trim();
    try {
      if (name === 'cpu') out.cpuMillis = cpuMillis(value);
      else if (name === 'memory') out.memoryBytes = memoryBytes(value);
      else throw invalidArgument(`unsupported resource ${JSON.stringify(name)} (cpu and memory are)`);
    } catch (err) {
      throw wrap(err, `resource list ${JSON.stringify(text)}`);
    }
  }
  return out;
}
