import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeNftAnswers, encodeNftRequest, makeNftRunner, NFT_HELPER_MAX_ANSWER, NftExecRunner, NftHelperRunner } from '../../../src/agent/proxy/index.js';

/** One answer as corelet-nft writes it. */
const answer = (status: number, out: string, err: string) => {
  const o = Buffer.from(out);
  const e = Buffer.from(err);
  const b = Buffer.alloc(9);
  b.writeUInt32BE(5 + o.length + e.length, 0);
  b[4] = status;
  b.writeUInt32BE(o.length, 5);
  return Buffer.concat([b, o, e]);
};

describe('corelet-nft framing', () => {
  it('frames a request: length, flags, the text', () => {
    const f = encodeNftRequest('list table inet x', { json: true, terse: true });
    assert.equal(f.readUInt32BE(0), 1 + 'list table inet x'.length);
    assert.equal(f[4], 3);
    assert.equal(f.subarray(5).toString(), 'list table inet x');
    assert.equal(encodeNftRequest('add table inet x\n')[4], 0);
  });

  it('refuses a request with a NUL byte or over 64 MiB, naming why', () => {
    assert.throws(() => encodeNftRequest('add table\0'), /nft input: a NUL byte/);
    assert.throws(() => encodeNftRequest('x'.repeat(64 * 1024 * 1024)), /over corelet-nft's 67108863/);
  });

  it('reads answers that arrive in pieces, keeping the partial one', () => {
    const two = Buffer.concat([answer(0, '{"nftables":[]}', ''), answer(1, '', '/dev/stdin:2:1-3: Error: x\n')]);
    const first = decodeNftAnswers(two.subarray(0, 7));
    assert.deepEqual(first.answers, []);
    assert.equal(first.rest.length, 7);
    const cut = answer(0, '{"nftables":[]}', '').length + 3;
    const a = decodeNftAnswers(two.subarray(0, cut));
    assert.deepEqual(a.answers, [{ status: 0, stdout: '{"nftables":[]}', stderr: '' }]);
    const b = decodeNftAnswers(Buffer.concat([a.rest, two.subarray(cut)]));
    assert.deepEqual(b.answers, [{ status: 1, stdout: '', stderr: '/dev/stdin:2:1-3: Error: x\n' }]);
    assert.equal(b.rest.length, 0);
  });

  it('refuses an answer that breaks the framing', () => {
    const over = Buffer.alloc(4);
    over.writeUInt32BE(NFT_HELPER_MAX_ANSWER + 1, 0);
    assert.throws(() => decodeNftAnswers(over), /an answer of 268435457 bytes/);
    const short = Buffer.alloc(4);
    short.writeUInt32BE(4, 0);
    assert.throws(() => decodeNftAnswers(short), /an answer of 4 bytes/);
    const badOut = answer(0, 'abc', '');
    badOut.writeUInt32BE(99, 5);
    assert.throws(() => decodeNftAnswers(badOut), /an output of 99 bytes in an answer of 8/);
    assert.throws(() => decodeNftAnswers(answer(7, '', '')), /status 7/);
  });

  it('runs nft -f when the helper binary is missing, and says it fell back', () => {
    const missing = makeNftRunner(['nft'], ['/nonexistent/corelet-nft'], 1000);
    assert.ok(missing.runner instanceof NftExecRunner);
    assert.equal(missing.usedFallback, true);
    const off = makeNftRunner(['nft'], null, 1000);
    assert.ok(off.runner instanceof NftExecRunner);
    assert.equal(off.usedFallback, false);
    const here = makeNftRunner(['nft'], [process.execPath], 1000);
    assert.ok(here.runner instanceof NftHelperRunner);
  });
});

/**
 * A stand-in corelet-nft (same framing): answers "echo X" with X after "delay N" ms, never answers
 * "hang", answers "big N" with N bytes of output and "garble" with an answer that breaks the framing.
 */
const FAKE_HELPER = `
let buf = Buffer.alloc(0);
const reply = (out) => {
  const o = Buffer.from(out);
  const h = Buffer.alloc(9);
  h.writeUInt32BE(5 + o.length, 0);
  h[4] = 0;
  h.writeUInt32BE(o.length, 5);
  process.stdout.write(Buffer.concat([h, o]));
};
process.stdin.on('data', (d) => {
  buf = Buffer.concat([buf, d]);
  while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
    const len = buf.readUInt32BE(0);
    const text = buf.subarray(5, 4 + len).toString();
    buf = buf.subarray(4 + len);
    const [verb, arg] = text.split(' ');
    if (verb === 'echo') setTimeout(() => reply(arg), Number(text.split(' ')[3] ?? 0));
    else if (verb === 'big') reply('x'.repeat(Number(arg)));
    else if (verb === 'garble') process.stdout.write(Buffer.from([0, 0, 0, 2, 0, 0]));
  }
});
`;

describe('corelet-nft runner', () => {
  const withHelper = (t: { after: (fn: () => void) => void }) => {
    const dir = mkdtempSync(join(tmpdir(), 'nft-runner-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'helper.cjs'), FAKE_HELPER);
    return [process.execPath, join(dir, 'helper.cjs')];
  };

  it('a helper killed for a bad answer does not fail the calls of the one that replaced it, nor shift their answers', async (t) => {
    // no timeout in play (20 s): how fast the replacement starts on a loaded host does not matter
    const runner = new NftHelperRunner(withHelper(t), 20_000);
    t.after(() => runner.close());
    await assert.rejects(runner.run('garble'), /an answer of 2 bytes/);
    // The killed process's exit comes while the new one works on this call (it answers after 300 ms).
    assert.deepEqual(await runner.run('echo B delay 300'), { ok: true, stdout: 'B', stderr: '' });
    assert.equal((await runner.run('echo C')).stdout, 'C');
    assert.equal(runner.starts, 2);
  });

  it('reads a large answer that comes in many pieces', async (t) => {
    const runner = new NftHelperRunner(withHelper(t), 20_000);
    t.after(() => runner.close());
    const r = await runner.run('big 5000000');
    assert.equal(r.stdout.length, 5_000_000);
    assert.equal((await runner.run('echo after')).stdout, 'after');
  });
});
