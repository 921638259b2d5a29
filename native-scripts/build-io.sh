#!/usr/bin/env bash
# Builds corelet-io, the streaming helper (conmon attach sockets, pod network namespaces), into
# OUT_DIR/corelet-io (OUT_DIR defaults to dist/bin, relative to the repository root). Idempotent:
# does nothing when the binary is newer than corelet-io.c and this script. Needs gcc and libc6-dev.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
out_dir="${1:-$repo/dist/bin}"
src="$here/corelet-io.c"
bin="$out_dir/corelet-io"

if [[ -x "$bin" && "$bin" -nt "$src" && "$bin" -nt "${BASH_SOURCE[0]}" ]]; then
	exit 0
fi

if ! command -v gcc >/dev/null 2>&1; then
	echo "build-io.sh: gcc not found (apt-get install gcc libc6-dev)" >&2
	exit 1
fi

mkdir -p "$out_dir"
# Build to a temporary name and rename, so a half-written binary is never picked up.
tmp="$bin.tmp.$$"
trap 'rm -f "$tmp"' EXIT
gcc -O2 -Wall -Wextra -Werror -o "$tmp" "$src"
mv -f "$tmp" "$bin"
echo "build-io.sh: built $bin"
