import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyRuntimeError, runtimeError, runtimeErrorMessage } from '../../../src/runtime/oci/index.js';

test('runtimeErrorMessage reads runc logfmt, JSON lines and crun plain text', () => {
  assert.equal(runtimeErrorMessage('time="2026-11-27T11:53:11Z" level=error msg="container does not exist"\n'), 'container does not exist');
  assert.equal(
    runtimeErrorMessage('time="x" level=warning msg="cgroup warning"\ntime="y" level=error msg="runc create failed: error mounting \\"/a\\" to rootfs"\n'),
    'runc create failed: error mounting "/a" to rootfs',
  );
  assert.equal(runtimeErrorMessage('{"level":"error","msg":"container does not exist","time":"t"}\n'), 'container does not exist');
  assert.equal(runtimeErrorMessage('error opening file `/run/crun/x/status`: No such file or directory\n'), 'error opening file `/run/crun/x/status`: No such file or directory');
  assert.equal(runtimeErrorMessage(''), '');
});

test('classifyRuntimeError maps runtime messages to error kinds', () => {
  assert.equal(classifyRuntimeError('container does not exist'), 'NotFound');
  assert.equal(classifyRuntimeError('exec failed: container does not exist'), 'NotFound');
  assert.equal(classifyRuntimeError('error opening file `/run/crun/x/status`: No such file or directory'), 'NotFound');
  assert.equal(classifyRuntimeError('container with id exists: c1'), 'Internal');
  assert.equal(classifyRuntimeError('container with given ID already exists'), 'AlreadyExists');
  assert.equal(classifyRuntimeError('container not running'), 'FailedPrecondition');
  assert.equal(classifyRuntimeError('cannot start an already running container'), 'FailedPrecondition');
  assert.equal(classifyRuntimeError('error mounting "/x": no such file or directory'), 'Internal');
});

test('runtimeError carries command, id and message', () => {
  const err = runtimeError('start', 'c1', 'time="t" level=error msg="container does not exist"\n', 1);
  assert.equal(err.kind, 'NotFound');
  assert.equal(err.message, 'start c1: container does not exist');
  assert.equal(runtimeError('start', 'c1', '', 2).message, 'start c1: exited with code 2');
});

test('exec in a stopped container is FailedPrecondition', () => {
  assert.equal(classifyRuntimeError('exec failed: cannot exec in a stopped container'), 'FailedPrecondition');
});
