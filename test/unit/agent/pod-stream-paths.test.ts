/** The kubelet's streaming paths on the agent's port (pure). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parsePodStreamPath } from '../../../src/agent/http/index.js';

const parse = (url: string) => {
  const u = new URL(url, 'https://agent');
  return parsePodStreamPath(u.pathname, u.searchParams);
};

describe('agent stream paths', () => {
  it('reads exec, attach and port-forward as kube-apiserver and kubectl name their options', () => {
    assert.deepEqual(parse('/exec/default/web/uid-1/c?command=sh&command=-c&command=ls&input=1&output=1&error=1'), {
      kind: 'exec', namespace: 'default', name: 'web', uid: 'uid-1', container: 'c', command: ['sh', '-c', 'ls'], stdin: true, stdout: true, stderr: true, tty: false, ports: [],
    });
    assert.deepEqual(parse('/attach/default/web/c?stdin=true&stdout=true&stderr=true&tty=true'), {
      kind: 'attach', namespace: 'default', name: 'web', container: 'c', command: [], stdin: true, stdout: true, stderr: false, tty: true, ports: [],
    });
    assert.deepEqual(parse('/portForward/default/web?port=8080&port=9090'), {
      kind: 'portforward', namespace: 'default', name: 'web', command: [], stdin: false, stdout: false, stderr: false, tty: false, ports: [8080, 9090],
    });
    assert.equal(parse('/pods'), undefined);
  });

  it('refuses malformed paths and options, naming them', () => {
    assert.throws(() => parse('/exec/default/web'), /expected \/exec\/NAMESPACE\/POD\/\[UID\/\]CONTAINER/);
    assert.throws(() => parse('/exec/default/web/c?stdout=1'), /command: exec needs a command/);
    assert.throws(() => parse('/attach/default/web/c'), /stdin, stdout, stderr: at least one must be true/);
    assert.throws(() => parse('/portForward/default/web?port=0'), /port: "0" is not a port number/);
    assert.throws(() => parse('/portForward/a/b/c/d'), /expected \/portForward\/NAMESPACE\/POD\[\/UID\]/);
  });
});
