/** `corelet describe KIND NAME`: an object's details and the events about it. */
import type { Command } from 'commander';
import { SERVICE_NAME_LABEL, type EndpointSlice, type ObjectEvent, type Pod } from '../api/index.js';
import { namespaceOf, withClient, withConnectionOptions, withNamespaceOptions, type CommonOptions } from './cluster-options.js';
import { describeObject } from './describe-format.js';
import { objectPath, parseTarget } from './kinds.js';
import { query } from './get.js';
import { outLine } from './io.js';

/** Registers `corelet describe`. */
export function registerDescribeCommand(program: Command): void {
  const cmd = program.command('describe <type> [names...]').description("show an object's details and the events about it");
  withNamespaceOptions(cmd);
  withConnectionOptions(cmd).action(async (type: string, names: string[], opts: CommonOptions) => {
    const { info, names: wanted } = parseTarget([type, ...names]);
    if (info.kind === 'Event') throw new Error('events have no details beyond `corelet get events`; describe the object they are about instead');
    if (wanted.length === 0) throw new Error(`name the ${info.display.split('.')[0]} to describe: corelet describe ${type} NAME`);
    const namespace = namespaceOf(opts);
    await withClient(opts, async (client) => {
      const texts: string[] = [];
      for (const name of wanted) {
        const obj = await client.get(objectPath(info, namespace, name));
        const eventsPath = info.namespaced ? `/api/v1/namespaces/${encodeURIComponent(namespace)}/events` : '/api/v1/events';
        const list = await client.get<{ items: ObjectEvent[] }>(eventsPath + query({ fieldSelector: `involvedObject.kind=${info.kind},involvedObject.name=${name}` }));
        // An earlier object of the same name had its own events.
        const events = list.items.filter((e) => !e.involvedObject.uid || e.involvedObject.uid === obj.metadata?.uid);
        const pods = info.kind === 'Node' ? (await client.get<{ items: Pod[] }>('/api/v1/pods' + query({ fieldSelector: `spec.nodeName=${name}` }))).items : undefined;
        const slicesPath = `/api/v1/namespaces/${encodeURIComponent(namespace)}/endpointslices`;
        const endpointSlices = info.kind === 'Service' ? (await client.get<{ items: EndpointSlice[] }>(slicesPath + query({ labelSelector: `${SERVICE_NAME_LABEL}=${name}` }))).items : undefined;
        texts.push(describeObject(obj, { events, endpointSlices, pods: pods?.filter((p) => !['Succeeded', 'Failed'].includes(p.status?.phase ?? '')) }, new Date()));
      }
      outLine(texts.join('\n\n\n'));
    });
  });
}
