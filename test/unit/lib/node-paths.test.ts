/**
 * The node path defaults have one definition per language: src/lib/node-paths.ts for the daemons'
 * flags and native-scripts/node/defaults.sh for the launcher and provisioning scripts. They must
 * name the same paths.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { NODE_PATHS, unixEndpoint } from '../../../src/lib/index.js';
import { AGENT_DEFAULTS } from '../../../src/agent/index.js';
import { DEFAULTS } from '../../../src/runtime/index.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

test('native-scripts/node/defaults.sh names the paths of src/lib/node-paths.ts', async () => {
  const text = await readFile(join(ROOT, 'native-scripts/node/defaults.sh'), 'utf8');
  const shell = new Map([...text.matchAll(/^(DEFAULT_[A-Z_]+)=(\S+)$/gm)].map((m) => [m[1], m[2]]));
  assert.deepEqual(Object.fromEntries(shell), {
    DEFAULT_RUNTIME_SOCKET: NODE_PATHS.runtimeSocket,
    DEFAULT_RUNTIME_ROOT: NODE_PATHS.runtimeRoot,
    DEFAULT_CONFIG_DIR: NODE_PATHS.configDir,
    DEFAULT_AGENT_ROOT: NODE_PATHS.agentRoot,
    DEFAULT_POD_LOG_DIR: NODE_PATHS.podLogDir,
    DEFAULT_SCHEDULER_DIR: NODE_PATHS.schedulerDir,
    DEFAULT_CNI_CONF_DIR: NODE_PATHS.cniConfDir,
  });
});

test("the agent's default runtime endpoint is the runtime's default socket", () => {
  assert.equal(AGENT_DEFAULTS.runtimeEndpoint, unixEndpoint(DEFAULTS.socket));
  assert.equal(AGENT_DEFAULTS.runtimeEndpoint, 'unix:///run/corelet/corelet.sock');
  for (const p of [NODE_PATHS.runtimeConfig, NODE_PATHS.registriesConfig, NODE_PATHS.bootstrapTokenFile]) {
    assert.ok(p.startsWith(`${NODE_PATHS.configDir}/`), p);
  }
});
