#!/usr/bin/env bash
# conformance-dir.sh - print the shared conformance kit's folder (offline images, local registry,
# critest, reference containerd): $CORELET_CONFORMANCE_DIR, else ../shared/conformance beside the repo.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${CORELET_CONFORMANCE_DIR:-$root/../shared/conformance}
[ -f "$dir/up.sh" ] || { echo "conformance kit not found at $dir (set CORELET_CONFORMANCE_DIR)" >&2; exit 1; }
cd "$dir" && pwd
