/**
 * A node whose certificate expired while the scheduler was down comes back by itself, with that
 * certificate (not the token: it has expired, and a token never renews a registered name): one
 * scheduler, a corelet runtime and an agent on this machine (unique dirs and ports), node
 * certificates of 60 s, the join token of 20 s. The scheduler is stopped until the node's
 * certificate has expired, then started again: the agent renews with the expired certificate
 * (within --node-cert-expired-renewal-window, 720h by default), reconnects, the node is Ready and
 * its pod kept running (same container). The clock is the real one (OpenSSL checks it).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { OneNodeCluster } from '../helpers/one-node-cluster.js';

const TOKEN_TTL_S = 20;
const cluster = new OneNodeCluster({ name: 'expcert', schedulerArgs: ['--node-cert-ttl', '60s'], joinTokenTtlSeconds: TOKEN_TTL_S });
const until = cluster.until.bind(cluster);

const keeper = async () => (await cluster.runningContainer('keeper'))?.containerID;
const nodeCert = () => cluster.nodeCertificate();

before(() => cluster.startWithSleeper('keeper'));
after(() => cluster.stopWithSleeper('keeper'));

test('a node whose certificate expired during a scheduler outage renews with it and is Ready again, its pod untouched', async () => {
  const container = await keeper();
  assert.ok(container);
  await until('the bootstrap token expired', async () => Date.now() > cluster.joinTokenCreatedAt + TOKEN_TTL_S * 1000 + 1000, 60_000);
  await cluster.killScheduler();
  const expired = await nodeCert();
  await until('the node certificate expired', async () => Date.now() > Date.parse(expired.validTo) + 2000, 90_000);
  cluster.startScheduler();
  await until('the node renewed its certificate', async () => (await nodeCert()).serialNumber !== expired.serialNumber, 180_000);
  await until('the node is Ready', () => cluster.nodeReady(), 120_000);
  assert.equal(await keeper(), container, 'the same container kept running');
  const log = await cluster.agent.log();
  assert.doesNotMatch(log, /bootstrapping again with the token file/, 'the token was not needed');
});
