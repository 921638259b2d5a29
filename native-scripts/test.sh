#!/usr/bin/env bash
# test.sh - install everything, run the check lane (`npm run check`: types, lint, unit tests; no
# root), build, start the offline image registry (shared conformance kit) and run the rest of the
# suite (`npm run test:root`: integration tests with real runc, conmon, CNI and cgroups, e2e, soak,
# conformance; needs root). The unit tests run once, in the check lane.
set -euo pipefail
cd "$(dirname "$0")/.."
native-scripts/install-deps.sh --test
npm ci --no-audit --no-fund
npm run check
npm run build
conformance=$(native-scripts/conformance-dir.sh)
bash "$conformance/up.sh"
npm run test:root
