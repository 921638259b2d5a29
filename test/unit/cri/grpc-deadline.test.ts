import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { createCriServer, listenUnix, createCriClient } from '../../../src/cri/index.js';
import { grpcTimeoutMs } from '../../../src/cri/grpc-deadline.js';
import { silentLogger } from '../../../src/lib/logger.js';

test('grpc-timeout header values in milliseconds', () => {
  assert.equal(grpcTimeoutMs('2147544S'), 2_147_544_000);
  assert.equal(grpcTimeoutMs('99999999H'), 99_999_999 * 3_600_000);
  assert.equal(grpcTimeoutMs('1500m'), 1500);
  assert.equal(grpcTimeoutMs('junk'), undefined);
});

test('a call whose deadline is 25 days away is served, not failed with DEADLINE_EXCEEDED at once', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-cri-'));
  const socket = join(dir, 'cri.sock');
  let seen = -1;
  const server = createCriServer(
    {
      StopContainer: async (req) => {
        seen = Number(req.timeout);
        await new Promise((r) => setTimeout(r, 50));
        return {};
      },
    },
    silentLogger,
  );
  await listenUnix(server, socket);
  const client = createCriClient(`unix://${socket}`);
  try {
    // What crictl (grpc-go) sends for `stop --timeout 2147484`: the timeout plus its own 60 s as a
    // grpc-timeout header (grpc-js clients drop such a header, so speak HTTP/2 directly).
    const status = await rawCall(socket, '/runtime.v1.RuntimeService/StopContainer', '2147544S');
    assert.equal(status, '0');
    assert.equal(seen, 0);
    // ordinary deadlines still apply
    await assert.rejects(client.runtime.StopContainer({ container_id: 'x', timeout: 1 }, { deadlineMs: 5 }), /DEADLINE_EXCEEDED|Deadline exceeded/i);
  } finally {
    client.close();
    server.forceShutdown();
    await rm(dir, { recursive: true, force: true });
  }
});

/** One unary call with an empty request and the given grpc-timeout header; resolves grpc-status. */
function rawCall(socket: string, path: string, timeout: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const session = http2.connect('http://localhost', { createConnection: () => net.connect(socket) });
    session.on('error', reject);
    const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': timeout });
    let status: string | undefined;
    req.on('response', (h) => (status ??= h['grpc-status'] as string | undefined));
    req.on('trailers', (h) => (status = h['grpc-status'] as string | undefined));
    req.on('data', () => undefined);
    req.on('end', () => {
      session.close();
      resolve(status);
    });
    req.on('error', reject);
    req.end(Buffer.from([0, 0, 0, 0, 0]));
  });
}
