/**
 * A --root in use is refused: a second `corelet runtime` (or `corelet agent`) on the same root exits
 * at once with an error naming the root and the holder's pid, and touches nothing; after a kill -9
 * of the holder, a new daemon starts on that root.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { CORELET, RuntimeHarness } from '../../helpers/runtime-harness.js';
import { AgentHarness } from '../../helpers/agent-harness.js';

let runtime: RuntimeHarness | undefined;
let agent: AgentHarness | undefined;
after(async () => {
  await agent?.stop();
  await runtime?.stop();
});

test('a second corelet runtime on the same --root exits with an error naming the root and the pid; after kill -9 a new one starts', async () => {
  runtime = await RuntimeHarness.start();
  const holder = runtime.pid!;
  const otherSocket = join(runtime.dir, 'second.sock');
  const second = await execa(process.execPath, [CORELET, 'runtime', '--socket', otherSocket, '--root', runtime.root, '--config', join(runtime.dir, 'runtime.yaml')], { reject: false, timeout: 60_000 });
  assert.notEqual(second.exitCode, 0);
  assert.match(second.stderr, new RegExp(`${runtime.root} is in use by another corelet runtime \\(pid ${holder}\\)`));
  assert.equal(existsSync(otherSocket), false, 'the second runtime did not start serving');
  // another root with the same --state: the volatile state (runc, conmon sockets) is locked too
  const otherRoot = join(runtime.dir, 'other-root');
  const third = await execa(
    process.execPath,
    [CORELET, 'runtime', '--socket', otherSocket, '--root', otherRoot, '--state', join(runtime.root, 'run'), '--config', join(runtime.dir, 'runtime.yaml')],
    { reject: false, timeout: 60_000 },
  );
  assert.notEqual(third.exitCode, 0);
  assert.match(third.stderr, new RegExp(`${join(runtime.root, 'run')} is in use by another corelet runtime \\(pid ${holder}\\)`));
  assert.equal(existsSync(otherSocket), false);
  // the first one is untouched
  assert.equal((await runtime.crictl(['version'])).exitCode, 0);

  await runtime.kill9();
  await runtime.startDaemon();
  assert.notEqual(runtime.pid, holder);
  assert.equal((await runtime.crictl(['version'])).exitCode, 0);
});

test('a second corelet agent on the same --root exits with an error naming the root and the pid; after kill -9 a new one starts', async () => {
  assert.ok(runtime);
  agent = await AgentHarness.start(`unix://${runtime.socket}`);
  const holder = agent.pid!;
  const second = await execa(
    process.execPath,
    [CORELET, 'agent', '--runtime-endpoint', `unix://${runtime.socket}`, '--pod-manifest-path', join(agent.dir, 'other-manifests'), '--root', agent.root, '--address', '127.0.0.1', '--port', '0', '--qos-cgroup', agent.qosTop, '--node-name', 'test-node'],
    { reject: false, timeout: 60_000 },
  );
  assert.notEqual(second.exitCode, 0);
  assert.match(second.stderr, new RegExp(`${agent.root} is in use by another corelet agent \\(pid ${holder}\\)`));
  assert.equal(existsSync(join(agent.dir, 'other-manifests')), false, 'the second agent touched nothing');

  await agent.kill9();
  await agent.startDaemon();
  assert.notEqual(agent.pid, holder);
});
