import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  AuthenticationError,
  authenticateToken,
  bearerToken,
  generateToken,
  hashToken,
  isTokenFormat,
  newTokenRecord,
  parseToken,
  verifyToken,
  type TokenRecord,
} from '../../../src/scheduler/auth/index.js';
import { isKind } from '../../../src/lib/index.js';

const TOKEN = 'abcdef.0123456789abcdef';

describe('token format', () => {
  it("generates kubeadm-format tokens, each different", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const t = generateToken();
      assert.match(t, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
      seen.add(t);
    }
    assert.equal(seen.size, 200);
  });

  it('splits a token into id and secret', () => {
    assert.deepEqual(parseToken(TOKEN), { id: 'abcdef', secret: '0123456789abcdef' });
    assert.ok(isTokenFormat(TOKEN));
  });

  it('refuses malformed tokens with the format, without echoing the input', () => {
    const cases: [string, RegExp][] = [
      ['', /it is empty/],
      ['abcdef0123456789abcdef', /no "\." between id and secret/],
      ['ABCDEF.0123456789abcdef', /lower-case letters and digits only/],
      ['abcde.0123456789abcdef', /wrong length/],
      ['abcdef.0123456789abcde', /wrong length/],
      [' abcdef.0123456789abcdef', /wrong length/],
    ];
    for (const [bad, why] of cases) {
      assert.throws(
        () => parseToken(bad),
        (e: Error) => isKind(e, 'InvalidArgument') && why.test(e.message) && /\[a-z0-9\]\{6\}\.\[a-z0-9\]\{16\}/.test(e.message) && (bad === '' || !e.message.includes(bad.trim())),
        JSON.stringify(bad),
      );
    }
  });
});

describe('hashToken and verifyToken', () => {
  it('stores only a hash, which the right token verifies against', () => {
    const hash = hashToken(TOKEN);
    assert.match(hash, /^sha256:[0-9a-f]{64}$/);
    assert.ok(!hash.includes('0123456789abcdef'));
    assert.equal(verifyToken(TOKEN, hash), true);
  });

  it('rejects a wrong secret, a wrong id and a malformed token', () => {
    const hash = hashToken(TOKEN);
    assert.equal(verifyToken('abcdef.0123456789abcdee', hash), false);
    assert.equal(verifyToken('abcdeg.0123456789abcdef', hash), false);
    assert.equal(verifyToken('garbage', hash), false);
    assert.equal(verifyToken('', hash), false);
  });

  it('is loud about a corrupt stored hash', () => {
    assert.throws(() => verifyToken(TOKEN, 'sha256:abc'), /stored token hash is malformed/);
  });
});

describe('token records and authenticateToken', () => {
  const now = new Date('2026-03-01T00:00:00Z');

  function store(...records: TokenRecord[]) {
    return (id: string) => records.find((r) => r.id === id);
  }
  function refused(fn: () => unknown, why: RegExp) {
    assert.throws(fn, (e: Error) => e instanceof AuthenticationError && isKind(e, 'InvalidArgument') && why.test(e.message));
  }

  it('makes a bootstrap token that expires in 24 hours by default', () => {
    const { token, record } = newTokenRecord('bootstrap', { now, description: 'join node-a' });
    assert.equal(record.id, parseToken(token).id);
    assert.equal(record.expires, '2026-03-02T00:00:00.000Z');
    assert.equal(record.description, 'join node-a');
    assert.ok(!JSON.stringify(record).includes(parseToken(token).secret), 'the secret is not stored');
    assert.equal(authenticateToken(token, store(record), 'bootstrap', now), record);
  });

  it('makes API tokens for a user, without expiry unless asked', () => {
    const { token, record } = newTokenRecord('api', { user: 'admin', now });
    assert.equal(record.expires, undefined);
    assert.equal(authenticateToken(token, store(record), 'api', now).user, 'admin');
    assert.throws(() => newTokenRecord('api', {}), /needs the user/);
    assert.throws(() => newTokenRecord('bootstrap', { ttlSeconds: 0 }), /positive number of seconds/);
  });

  it('refuses unknown, wrong-secret, expired and wrong-use tokens, naming only the id', () => {
    const { token, record } = newTokenRecord('bootstrap', { now, ttlSeconds: 60 });
    const { id, secret } = parseToken(token);
    refused(() => authenticateToken('zzzzzz.0123456789abcdef', store(record), 'bootstrap', now), /token zzzzzz is not known/);
    const wrong = `${id}.${secret === '0'.repeat(16) ? '1'.repeat(16) : '0'.repeat(16)}`;
    refused(() => authenticateToken(wrong, store(record), 'bootstrap', now), new RegExp(`token ${id}: wrong secret`));
    refused(() => authenticateToken(token, store(record), 'bootstrap', new Date(now.getTime() + 61_000)), new RegExp(`token ${id} expired at 2026-03-01T00:01:00.000Z`));
    refused(() => authenticateToken(token, store(record), 'api', now), /is a bootstrap token and cannot be used for the API/);
    refused(() => authenticateToken('not-a-token', store(record), 'bootstrap', now), /invalid token: expected the format/);
    try {
      authenticateToken(wrong, store(record), 'bootstrap', now);
    } catch (e) {
      assert.ok(!(e as Error).message.includes(wrong.slice(7)), 'the presented secret is never echoed');
    }
  });

  it('reads Bearer tokens from an Authorization header', () => {
    assert.equal(bearerToken(`Bearer ${TOKEN}`), TOKEN);
    assert.equal(bearerToken(`bearer  ${TOKEN} `), TOKEN);
    assert.equal(bearerToken(`Basic ${TOKEN}`), undefined);
    assert.equal(bearerToken(undefined), undefined);
    assert.equal(bearerToken('Bearer'), undefined);
  });
});
