import * as grpc from '@grpc/grpc-js';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type Logger, CoreletError, kindOf, type ErrorKind, messageOf } from '../lib/index.js';
import { loadAdmin, loadCri } from './proto.js';
import { acceptLongGrpcDeadlines } from './grpc-deadline.js';
import type { RuntimeServiceHandlers } from './generated/runtime/v1/RuntimeService.js';
import type { ImageServiceHandlers } from './generated/runtime/v1/ImageService.js';
import type { ImportImageRequest__Output } from './generated/corelet/v1/ImportImageRequest.js';
import type { ImportImageResponse } from './generated/corelet/v1/ImportImageResponse.js';
import type { PullWithProgressRequest__Output } from './generated/corelet/v1/PullWithProgressRequest.js';
import type { PullImageProgress } from './generated/corelet/v1/PullImageProgress.js';

/** Request type of a generated handler. */
type ReqOf<H> = H extends (call: grpc.ServerUnaryCall<infer Req, any>, cb: any) => void ? Req
  : H extends (call: grpc.ServerWritableStream<infer Req, any>) => void ? Req : never;
/** Response type of a generated handler. */
type ResOf<H> = H extends grpc.handleUnaryCall<any, infer Res> ? Res
  : H extends grpc.handleServerStreamingCall<any, infer Res> ? Res : never;

/** Method names of the generated handler interfaces, without their string index signature. */
type KnownKeys<T> = keyof { [K in keyof T as string extends K ? never : K]: T[K] };
type AllHandlers = RuntimeServiceHandlers & ImageServiceHandlers;
type Method = KnownKeys<RuntimeServiceHandlers> | KnownKeys<ImageServiceHandlers>;
type UnaryNames = { [K in Method]: Parameters<AllHandlers[K]> extends [any, any] ? K : never }[Method];
type StreamNames = Exclude<Method, UnaryNames>;

/** One CRI RPC as the runtime implements it: a request in, a response (or a CoreletError) out. */
export type UnaryImpl<K extends UnaryNames> = (req: ReqOf<AllHandlers[K]>) => Promise<ResOf<AllHandlers[K]>>;
/** A server-streaming RPC: write responses until the signal aborts (the client went away). */
export type StreamImpl<K extends StreamNames> = (
  req: ReqOf<AllHandlers[K]>,
  write: (res: ResOf<AllHandlers[K]>) => void,
  signal: AbortSignal,
) => Promise<void>;

/** What a CRI implementation provides; every RPC it leaves out answers UNIMPLEMENTED. */
export type CriImpl = { [K in UnaryNames]?: UnaryImpl<K> } & { [K in StreamNames]?: StreamImpl<K> };

const STATUS: Record<ErrorKind, grpc.status> = {
  NotFound: grpc.status.NOT_FOUND,
  AlreadyExists: grpc.status.ALREADY_EXISTS,
  InvalidArgument: grpc.status.INVALID_ARGUMENT,
  FailedPrecondition: grpc.status.FAILED_PRECONDITION,
  PermissionDenied: grpc.status.PERMISSION_DENIED,
  Unavailable: grpc.status.UNAVAILABLE,
  Unimplemented: grpc.status.UNIMPLEMENTED,
  DeadlineExceeded: grpc.status.DEADLINE_EXCEEDED,
  Internal: grpc.status.UNKNOWN,
};

/** The one place where errors become gRPC status codes. */
export function toServiceError(err: unknown): Partial<grpc.ServiceError> {
  const message = messageOf(err);
  return { code: STATUS[kindOf(err)], details: message, message };
}

function unimplemented(service: string, method: string): CoreletError {
  return new CoreletError('Unimplemented', `${service}/${method} is not implemented by corelet yet`);
}

/** corelet's admin API (proto/corelet.proto), served on the same socket. */
export interface AdminImpl {
  ImportImage?: (req: ImportImageRequest__Output) => Promise<ImportImageResponse>;
  /** Server-streaming: write progress messages until the pull ends (signal: the client went away). */
  PullImage?: (req: PullWithProgressRequest__Output, write: (res: PullImageProgress) => void, signal: AbortSignal) => Promise<void>;
}

/**
 * Builds the gRPC server with RuntimeService and ImageService (and corelet's Admin service). Every
 * RPC of the protos is registered: those the implementation lacks answer UNIMPLEMENTED with a clear
 * message, never a hang.
 */
export function createCriServer(impl: CriImpl, logger: Logger, adminImpl: AdminImpl = {}): grpc.Server {
  const cri = loadCri();
  acceptLongGrpcDeadlines(); // a StopContainer timeout of 25+ days must not fail the call at once
  const server = new grpc.Server({
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
    'grpc.max_send_message_length': 16 * 1024 * 1024,
  });
  const services = [
    ['RuntimeService', cri.runtime.v1.RuntimeService.service, impl],
    ['ImageService', cri.runtime.v1.ImageService.service, impl],
    ['corelet.v1.Admin', loadAdmin().corelet.v1.Admin.service, adminImpl],
  ] as const;
  for (const [serviceName, service, serviceImpl] of services) {
    const handlers: grpc.UntypedServiceImplementation = {};
    for (const [method, def] of Object.entries(service)) {
      const fn = (serviceImpl as Record<string, ((...args: any[]) => Promise<any>) | undefined>)[method];
      if (def.responseStream) {
        handlers[method] = (call: grpc.ServerWritableStream<any, any>) => {
          const ac = new AbortController();
          call.on('cancelled', () => ac.abort());
          call.on('close', () => ac.abort());
          const run = fn ? fn(call.request, (res: unknown) => call.write(res), ac.signal) : Promise.reject(unimplemented(serviceName, method));
          run.then(
            () => call.end(),
            (err: unknown) => {
              logger.debug({ method, err: String(err) }, 'stream failed');
              call.emit('error', toServiceError(err));
            },
          );
        };
      } else {
        handlers[method] = (call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>) => {
          const started = Date.now();
          const run = fn ? fn(call.request) : Promise.reject(unimplemented(serviceName, method));
          run.then(
            (res) => {
              logger.debug({ method, ms: Date.now() - started }, 'rpc');
              callback(null, res);
            },
            (err: unknown) => {
              const level = kindOf(err) === 'Internal' ? 'error' : 'info';
              logger[level]({ method, ms: Date.now() - started, err: messageOf(err) }, 'rpc failed');
              callback(toServiceError(err));
            },
          );
        };
      }
    }
    server.addService(service, handlers);
  }
  return server;
}

/** Binds the server to a unix socket (replacing a stale socket file) with the given file mode. */
export async function listenUnix(server: grpc.Server, socketPath: string, mode = 0o660): Promise<void> {
  await mkdir(dirname(socketPath), { recursive: true });
  await rm(socketPath, { force: true });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
  await chmod(socketPath, mode);
}
