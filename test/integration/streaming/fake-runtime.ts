/**
 * A tiny CRI runtime for driving the streaming server with the real crictl: Version, ImageFsInfo,
 * Exec, Attach and PortForward over a private unix socket, backed by the fake StreamingBackend.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { createCriServer, listenUnix } from '../../../src/cri/index.js';
import { silentLogger, type Logger } from '../../../src/lib/logger.js';
import { StreamingServer, type StreamingServerOptions } from '../../../src/streaming/index.js';
import { FakeBackend } from '../../unit/streaming/fake-backend.js';

/** A CRI server on a temp unix socket whose streaming RPCs point at a StreamingServer. */
export class FakeRuntime {
  private constructor(
    readonly dir: string,
    readonly socket: string,
    readonly backend: FakeBackend,
    readonly streaming: StreamingServer,
    private readonly grpcServer: grpc.Server,
  ) {}

  /** Starts both servers; streaming options (TLS) pass through. */
  static async start(opts: { logger?: Logger; streaming?: Partial<StreamingServerOptions> } = {}): Promise<FakeRuntime> {
    const logger = opts.logger ?? silentLogger;
    const dir = await mkdtemp(join(tmpdir(), 'corelet-stream-'));
    const socket = join(dir, 'cri.sock');
    const backend = new FakeBackend();
    const streaming = new StreamingServer({ ...opts.streaming, backend, logger });
    try {
      await streaming.start();
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    const server = createCriServer(
      {
        Version: async () => ({ version: '0.1.0', runtime_name: 'fake', runtime_version: '0.0.1', runtime_api_version: 'v1' }),
        // crictl exec validates the image service connection with it.
        ImageFsInfo: async () => ({ image_filesystems: [], container_filesystems: [] }),
        Exec: async (req) => ({
          url: streaming.requestExec({
            containerId: req.container_id ?? '',
            cmd: req.cmd ?? [],
            tty: req.tty ?? false,
            stdin: req.stdin ?? false,
            stdout: req.stdout ?? false,
            stderr: req.stderr ?? false,
          }),
        }),
        Attach: async (req) => ({
          url: streaming.requestAttach({
            containerId: req.container_id ?? '',
            tty: req.tty ?? false,
            stdin: req.stdin ?? false,
            stdout: req.stdout ?? false,
            stderr: req.stderr ?? false,
          }),
        }),
        PortForward: async (req) => ({
          url: streaming.requestPortForward({ podSandboxId: req.pod_sandbox_id ?? '', ports: req.port }),
        }),
      },
      logger,
    );
    await listenUnix(server, socket);
    return new FakeRuntime(dir, socket, backend, streaming, server);
  }

  /** crictl's arguments to reach this runtime. */
  get endpointArgs(): string[] {
    return ['--runtime-endpoint', `unix://${this.socket}`, '--image-endpoint', `unix://${this.socket}`, '--timeout', '10s'];
  }

  async stop(): Promise<void> {
    this.grpcServer.forceShutdown();
    await this.streaming.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}
