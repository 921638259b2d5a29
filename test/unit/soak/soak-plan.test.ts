/**
 * The soak's pure parts (no cluster): its settings as an operator sets them, the replay of a seed,
 * the short form's round of faults, the 1 MiB manifest and the report's text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { FAULT_KINDS, bigManifest, firstRound } from '../../soak/faults.js';
import { SoakReport } from '../../soak/report.js';
import { Prng, soakSettings } from '../../soak/settings.js';
import { soakManifest } from '../../soak/workload.js';

test('the short form by default, on its own name, network and port; the long form by CORELET_SOAK_MINUTES', () => {
  const short = soakSettings({ CORELET_SOAK_SEED: '7' });
  assert.equal(short.form, 'short');
  assert.deepEqual([short.name, short.net, short.port, short.seed], ['soak', '10.95.0', 16445, 7]);
  assert.ok(short.schedulerDownSeconds >= 60, 'the scheduler stays down longer than the 40 s heartbeat grace');
  const long = soakSettings({ CORELET_SOAK_MINUTES: '120', CORELET_SOAK_NAME: 'soak2', CORELET_SOAK_NET: '10.96.0', CORELET_SOAK_PORT: '16446' });
  assert.equal(long.form, 'long');
  assert.deepEqual([long.minutes, long.schedulerDownSeconds, long.nodeLostSeconds], [120, 300, 120]);
  assert.deepEqual([long.name, long.net, long.port], ['soak2', '10.96.0', 16446]);
});

test('a bad setting fails naming its variable', () => {
  assert.throws(() => soakSettings({ CORELET_SOAK_MINUTES: 'two hours' }), /CORELET_SOAK_MINUTES must be a whole number from 1 to \d+, got "two hours"/);
  assert.throws(() => soakSettings({ CORELET_SOAK_NAME: 'Too-Long-Name' }), /CORELET_SOAK_NAME must be 1 to 8 lower-case letters or digits/);
  assert.throws(() => soakSettings({ CORELET_SOAK_NET: '10.95' }), /CORELET_SOAK_NET must be three octets/);
  assert.throws(() => soakSettings({ CORELET_SOAK_NODE_CERT_TTL: '5 minutes' }), /CORELET_SOAK_NODE_CERT_TTL must be a duration such as 5m/);
});

test('a seed replays the same faults in the same order; the first round has every kind once', () => {
  const a = firstRound(new Prng(42));
  assert.deepEqual(firstRound(new Prng(42)), a);
  assert.deepEqual([...a].sort(), [...FAULT_KINDS].sort());
  assert.deepEqual(a.slice(0, 2), ['kill-pause', 'scheduler-down']);
  const r = new Prng(1);
  const draws = Array.from({ length: 1000 }, () => r.int(1, 4));
  assert.deepEqual([...new Set(draws)].sort(), [1, 2, 3, 4]);
});

test('the manifests parse: the churn workload and a 1 MiB manifest of Deployments', () => {
  const docs = parseAllDocuments(soakManifest(soakSettings({}))).map((d) => d.toJS() as { kind: string });
  assert.deepEqual(docs.map((d) => d.kind), ['Namespace', 'Deployment', 'Deployment', 'StatefulSet', 'Pod']);
  const big = bigManifest();
  assert.ok(big.length >= 1024 * 1024 && big.length < 1.1 * 1024 * 1024, `${big.length} bytes`);
  const objects = parseAllDocuments(big).map((d) => d.toJS() as { kind: string });
  assert.ok(objects.length > 900 && objects.slice(1).every((o) => o.kind === 'Deployment'));
});

test('the report lists faults with their recovery and every violation', () => {
  const report = new SoakReport({ seed: 9, form: 'short' });
  const f = report.fault('kill-agent', 'node2/agent');
  f.end = f.start + 2;
  f.recovered = f.end + 5;
  report.violation('workload-recovery', 'soak/churn 1/2 Ready for 130 s', 'k');
  report.violation('workload-recovery', 'the same episode again', 'k');
  const text = report.text();
  assert.match(text, /replay: CORELET_SOAK_SEED=9 npm run test:soak/);
  assert.match(text, /5\.0 {2}kill-agent node2\/agent/);
  assert.match(text, /invariant violations: 1 \(workload-recovery ×1\)/);
});
