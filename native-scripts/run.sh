#!/usr/bin/env bash
# run.sh [runtime flags...] - install what corelet needs, build it, and run `corelet runtime` on this
# machine (as root). Flags are passed on: --socket, --root, --state, --config, --runtime, --log-level.
set -euo pipefail
cd "$(dirname "$0")/.."
native-scripts/install-deps.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build >/dev/null
exec node dist/src/cli/main.js runtime "$@"
