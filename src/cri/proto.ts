import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from './generated/api.js';
import type { ProtoGrpcType as AdminProtoGrpcType } from './generated/corelet.js';

/**
 * Loader options; they must match the flags of proto-loader-gen-types in package.json ("gen") so
 * the generated types describe what the loader really produces: snake_case fields, int64 as decimal
 * strings, enums as their names, defaults filled in, oneof names set.
 */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** A file of this package's proto/ folder, found from src/ or dist/src/. */
export function protoPath(file = 'api.proto'): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  let packageDir: string | undefined;
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'proto', file);
    if (existsSync(candidate)) return candidate;
    packageDir ??= existsSync(join(dir, 'package.json')) ? dir : undefined;
    dir = dirname(dir);
  }
  // Name the place it belongs: beside the package.json of this copy (an install without proto/).
  throw new Error(`proto/${file} not found: expected ${join(packageDir ?? dirname(dirname(dirname(fileURLToPath(import.meta.url)))), 'proto', file)}`);
}

let loaded: ProtoGrpcType | undefined;

/** The CRI v1 package (runtime.v1), loaded once. */
export function loadCri(): ProtoGrpcType {
  if (!loaded) {
    const def = protoLoader.loadSync(protoPath(), LOADER_OPTIONS);
    loaded = grpc.loadPackageDefinition(def) as unknown as ProtoGrpcType;
  }
  return loaded;
}

let admin: AdminProtoGrpcType | undefined;

/** corelet's own node-local admin API (corelet.v1), served beside CRI on the runtime socket. */
export function loadAdmin(): AdminProtoGrpcType {
  if (!admin) {
    const def = protoLoader.loadSync(protoPath('corelet.proto'), LOADER_OPTIONS);
    admin = grpc.loadPackageDefinition(def) as unknown as AdminProtoGrpcType;
  }
  return admin;
}
