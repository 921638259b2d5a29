import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { grpcCode, grpcCodeName, grpcMessage, hasGrpcCode, isDeadlineExceeded, isNotFound, isUnavailable } from '../../../src/cri/index.js';
import { notFound } from '../../../src/lib/index.js';

/** A failed call as grpc-js rejects it. */
const failed = (code: grpc.status, details: string) => Object.assign(new Error(`${code} ${grpc.status[code]}: ${details}`), { code, details, metadata: new grpc.Metadata() });

test('the status of a failed call, and nothing for other errors', () => {
  const cases: [string, unknown, grpc.status | undefined, string][] = [
    ['NOT_FOUND', failed(grpc.status.NOT_FOUND, 'container "c" not found'), grpc.status.NOT_FOUND, 'NOT_FOUND'],
    ['DEADLINE_EXCEEDED', failed(grpc.status.DEADLINE_EXCEEDED, 'Deadline exceeded'), grpc.status.DEADLINE_EXCEEDED, 'DEADLINE_EXCEEDED'],
    ['OK-shaped 0', { code: 0 }, 0, 'OK'],
    ['an errno string code', Object.assign(new Error('x'), { code: 'ENOENT' }), undefined, 'UNKNOWN'],
    ['a CoreletError', notFound('x'), undefined, 'UNKNOWN'],
    ['a number out of range', { code: 99 }, 99 as grpc.status, 'UNKNOWN'],
    ['a string', 'boom', undefined, 'UNKNOWN'],
    ['null', null, undefined, 'UNKNOWN'],
  ];
  for (const [what, err, code, name] of cases) {
    assert.equal(grpcCode(err), code, what);
    assert.equal(grpcCodeName(err), name, what);
  }
  assert.ok(isNotFound(failed(grpc.status.NOT_FOUND, 'x')));
  assert.ok(!isNotFound(failed(grpc.status.UNAVAILABLE, 'x')));
  assert.ok(isUnavailable(failed(grpc.status.UNAVAILABLE, 'No connection established')));
  assert.ok(isDeadlineExceeded(failed(grpc.status.DEADLINE_EXCEEDED, 'x')));
  assert.ok(!isDeadlineExceeded(notFound('x')), 'a CoreletError is not a gRPC failure');
  assert.ok(hasGrpcCode(failed(grpc.status.INTERNAL, 'x'), grpc.status.INTERNAL));
});

test("the message a user reads: the server's details, else the error's message", () => {
  assert.equal(grpcMessage(failed(grpc.status.NOT_FOUND, 'container "c" not found')), 'container "c" not found');
  assert.equal(grpcMessage(failed(grpc.status.INTERNAL, '')), '13 INTERNAL: ', 'empty details: the message grpc-js wrote');
  assert.equal(grpcMessage(new Error('boom')), 'boom');
  assert.equal(grpcMessage(notFound('pod gone')), 'pod gone');
  assert.equal(grpcMessage('plain'), 'plain');
  assert.equal(grpcMessage(undefined), 'undefined');
});
