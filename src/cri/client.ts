import * as grpc from '@grpc/grpc-js';
import { loadAdmin, loadCri } from './proto.js';
import type { AdminClient } from './generated/corelet/v1/Admin.js';
import type { RuntimeServiceClient } from './generated/runtime/v1/RuntimeService.js';
import type { ImageServiceClient } from './generated/runtime/v1/ImageService.js';

/** gRPC target for a CRI endpoint: "unix:///path", "/path" or "host:port". */
export function criTarget(endpoint: string): string {
  if (endpoint.startsWith('unix://')) return endpoint;
  if (endpoint.startsWith('/')) return `unix://${endpoint}`;
  return endpoint;
}

type Promisified<C> = {
  [K in keyof C as C[K] extends (req: any, cb: grpc.requestCallback<any>) => grpc.ClientUnaryCall ? K : never]:
    C[K] extends (req: infer Req, cb: grpc.requestCallback<infer Res>) => grpc.ClientUnaryCall
      ? (req: Req, options?: { deadlineMs?: number }) => Promise<Res>
      : never;
};

/** A CRI client with promise-returning unary calls for both services of one endpoint. */
export interface CriClient {
  runtime: Promisified<RuntimeServiceClient>;
  image: Promisified<ImageServiceClient>;
  /** corelet runtime's own admin API (only corelet runtime serves it). */
  admin: Promisified<AdminClient>;
  raw: { runtime: RuntimeServiceClient; image: ImageServiceClient; admin: AdminClient };
  close(): void;
}

function promisify<C extends grpc.Client>(client: C): Promisified<C> {
  return new Proxy({} as Promisified<C>, {
    get(_target, method: string) {
      const fn = (client as unknown as Record<string, (...args: unknown[]) => unknown>)[method];
      if (typeof fn !== 'function') return undefined;
      return (req: unknown, options?: { deadlineMs?: number }) =>
        new Promise((resolve, reject) => {
          const callOptions: grpc.CallOptions = {};
          if (options?.deadlineMs) callOptions.deadline = Date.now() + options.deadlineMs;
          fn.call(client, req, new grpc.Metadata(), callOptions, (err: grpc.ServiceError | null, res: unknown) =>
            err ? reject(err) : resolve(res),
          );
        });
    },
  });
}

/** Connects to a CRI runtime (corelet runtime, containerd, CRI-O) at endpoint. */
export function createCriClient(endpoint: string): CriClient {
  const cri = loadCri();
  const target = criTarget(endpoint);
  const options = { 'grpc.max_receive_message_length': 16 * 1024 * 1024, 'grpc.default_authority': 'localhost' };
  const runtime = new cri.runtime.v1.RuntimeService(target, grpc.credentials.createInsecure(), options);
  const image = new cri.runtime.v1.ImageService(target, grpc.credentials.createInsecure(), options);
  const admin = new (loadAdmin().corelet.v1.Admin)(target, grpc.credentials.createInsecure(), options);
  return {
    runtime: promisify(runtime),
    image: promisify(image),
    admin: promisify(admin),
    raw: { runtime, image, admin },
    close() {
      runtime.close();
      image.close();
      admin.close();
    },
  };
}
