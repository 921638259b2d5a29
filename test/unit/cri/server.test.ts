import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createCriServer, listenUnix, createCriClient, loadCri } from '../../../src/cri/index.js';
import { invalidArgument, notFound } from '../../../src/lib/errors.js';
import { silentLogger } from '../../../src/lib/logger.js';

async function withServer(impl: Parameters<typeof createCriServer>[0], fn: (client: ReturnType<typeof createCriClient>, socket: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'corelet-cri-'));
  const socket = join(dir, 'cri.sock');
  const server = createCriServer(impl, silentLogger);
  await listenUnix(server, socket);
  const client = createCriClient(`unix://${socket}`);
  try {
    await fn(client, socket);
  } finally {
    client.close();
    server.forceShutdown();
    await rm(dir, { recursive: true, force: true });
  }
}

test('every RPC of both services is registered; missing ones answer UNIMPLEMENTED', async () => {
  const cri = loadCri();
  const runtimeMethods = Object.keys(cri.runtime.v1.RuntimeService.service);
  const imageMethods = Object.keys(cri.runtime.v1.ImageService.service);
  assert.equal(runtimeMethods.length + imageMethods.length, 43, 'CRI v1.37: 43 RPCs (CheckpointPod and RestorePod are new)');
  await withServer({ Version: async () => ({ version: '0.1.0', runtime_name: 'x', runtime_version: '1', runtime_api_version: 'v1' }) }, async (client, socket) => {
    assert.equal((await stat(socket)).mode & 0o777, 0o660);
    const v = await client.runtime.Version({});
    assert.equal(v.runtime_name, 'x');
    await assert.rejects(client.runtime.ListPodSandbox({}), (err: grpc.ServiceError) => {
      assert.equal(err.code, grpc.status.UNIMPLEMENTED);
      assert.match(err.details, /ListPodSandbox is not implemented/);
      return true;
    });
    await assert.rejects(client.image.ImageFsInfo({}), (err: grpc.ServiceError) => err.code === grpc.status.UNIMPLEMENTED);
    // a streaming RPC ends with UNIMPLEMENTED instead of hanging
    const stream = client.raw.runtime.GetContainerEvents({});
    const code = await new Promise<number>((resolve) => stream.on('error', (e: grpc.ServiceError) => resolve(e.code)));
    assert.equal(code, grpc.status.UNIMPLEMENTED);
  });
});

test('error kinds become the matching gRPC status codes with their message', async () => {
  await withServer(
    {
      ContainerStatus: async () => {
        throw notFound('container "abc" not found');
      },
      StopContainer: async () => {
        throw invalidArgument('timeout must be >= 0');
      },
      StartContainer: async () => {
        throw new Error('boom');
      },
    },
    async (client) => {
      await assert.rejects(client.runtime.ContainerStatus({ container_id: 'abc' }), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND && /abc/.test(e.details));
      await assert.rejects(client.runtime.StopContainer({ container_id: 'x' }), (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT);
      await assert.rejects(client.runtime.StartContainer({ container_id: 'x' }), (e: grpc.ServiceError) => e.code === grpc.status.UNKNOWN && e.details === 'boom');
    },
  );
});

test('int64 fields travel as decimal strings without losing precision', async () => {
  await withServer({ ListPodSandbox: async () => ({ items: [{ id: 'a', created_at: '1795000000123456789', state: 'SANDBOX_READY' }] }) }, async (client) => {
    const res = await client.runtime.ListPodSandbox({});
    assert.equal(res.items[0]!.created_at, '1795000000123456789');
    assert.equal(res.items[0]!.state, 'SANDBOX_READY');
  });
});
