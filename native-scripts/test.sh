#!/usr/bin/env bash
# test.sh - install everything, run the check lane (`npm run check`: types, lint, unit tests; no
# root), build, start the offline image registry (shared conformance kit) and run the rest of the
# suite (`npm run test:root`: integration tests with real runc, conmon, CNI and cgroups, e2e, soak,
# conformance; needs root), then test/vm's short form (`npm run test:vm`: one cgroup-v2 VM of the
# lab, native-scripts/vm/lab.sh). The unit tests run once, in the check lane. The VM's base image
# builds in the background from the start (mostly downloads: ~1 min of CPU), so the VM stage at the
# end only boots it (CORELET_SKIP_VM=1 leaves the VM stage out).
set -euo pipefail
cd "$(dirname "$0")/.."
native-scripts/install-deps.sh --test
vm_build=
if [ -z "${CORELET_SKIP_VM:-}" ]; then
  vm_log=$(mktemp)
  nice -n 10 native-scripts/vm/lab.sh build >"$vm_log" 2>&1 &
  vm_build=$!
fi
npm ci --no-audit --no-fund
npm run check
npm run build
conformance=$(native-scripts/conformance-dir.sh)
bash "$conformance/up.sh"
npm run test:root
if [ -n "$vm_build" ]; then
  wait "$vm_build" || { cat "$vm_log"; echo "test.sh: the VM lab's image did not build" >&2; exit 1; }
  npm run test:vm
fi
