#!/usr/bin/env bash
# test.sh - install everything, build, start the offline image registry (shared conformance kit) and
# run the whole test suite: unit tests, then integration tests with real runc, conmon, CNI and
# cgroups (needs root).
set -euo pipefail
cd "$(dirname "$0")/.."
native-scripts/install-deps.sh --test
npm ci --no-audit --no-fund
npm run build
conformance=$(native-scripts/conformance-dir.sh)
bash "$conformance/up.sh"
npm test
