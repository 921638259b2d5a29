/**
 * The fixture of an agent integration test file: a corelet runtime (RuntimeHarness) with busybox
 * pulled and a standalone agent over it (AgentHarness) started with the given flags. Create it at
 * module level, start() it in before(), stop() it in after(): stop removes every manifest, waits
 * for the pods to go, then stops the agent and the runtime and removes the QoS cgroups, whatever
 * start got to make.
 */
import { readdir } from 'node:fs/promises';
import { RuntimeHarness, BUSYBOX } from './runtime-harness.js';
import { AgentHarness } from './agent-harness.js';
import { runAllSteps } from './cleanup.js';

export class StandaloneAgent {
  runtime!: RuntimeHarness;
  agent!: AgentHarness;

  constructor(private readonly agentArgs: string[] = []) {}

  async start(): Promise<void> {
    this.runtime = await RuntimeHarness.start({ pull: [BUSYBOX] });
    this.agent = await AgentHarness.start(`unix://${this.runtime.socket}`, this.agentArgs);
  }

  async stop(): Promise<void> {
    const agent = this.agent;
    await runAllSteps([
      async () => {
        if (!agent) return;
        for (const f of await readdir(agent.manifests).catch(() => [] as string[])) await agent.remove(f);
        for (let i = 0; i < 120 && (await agent.pods().catch(() => [])).length > 0; i++) await new Promise((r) => setTimeout(r, 250));
      },
      () => agent?.stop(),
      () => this.runtime?.stop(),
      // the runtime removed what was left of the pods: now the agent's QoS cgroups are empty
      () => agent?.removeCgroups(),
    ]);
  }
}
