#!/usr/bin/env bash
# gen-cri-types.sh - generate TypeScript types for proto/api.proto into src/cri/generated/ with
# proto-loader-gen-types (flags match LOADER_OPTIONS in src/cri/proto.ts), make the imports
# NodeNext-style (.js suffix), and write an index re-exporting every message type.
set -euo pipefail
cd "$(dirname "$0")/.."
out=src/cri/generated
# --if-stale (npm run check): nothing to do when the types are newer than their inputs.
if [ "${1:-}" = --if-stale ] && [ -f "$out/index.ts" ] &&
  [ -z "$(find proto/api.proto proto/corelet.proto native-scripts/gen-cri-types.sh node_modules/@grpc/proto-loader/package.json -newer "$out/index.ts")" ]; then
  exit 0
fi
rm -rf "$out"
npx proto-loader-gen-types --keepCase --longs=String --enums=String --defaults --oneofs \
  --grpcLib=@grpc/grpc-js --outDir="$out" proto/api.proto proto/corelet.proto >/dev/null
find "$out" -name '*.ts' -exec sed -i -E "s#(from '\.[^']*)';#\1.js';#" {} +
for f in "$out"/runtime/v1/*.ts "$out"/corelet/v1/*.ts; do
  echo "export type * from './${f#"$out"/}';" | sed "s/\.ts';$/.js';/"
done > "$out/index.ts"
