#!/usr/bin/env bash
# Builds corelet's static pause binary into OUT_DIR/rootfs/pause (OUT_DIR defaults to dist/pause,
# relative to the repository root). Idempotent: does nothing when the binary is newer than pause.c.
# Needs gcc and libc6-dev (static libc).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
out_dir="${1:-$repo/dist/pause}"
src="$here/pause.c"
bin="$out_dir/rootfs/pause"

if [[ -x "$bin" && "$bin" -nt "$src" && "$bin" -nt "${BASH_SOURCE[0]}" ]]; then
	exit 0
fi

if ! command -v gcc >/dev/null 2>&1; then
	echo "build-pause.sh: gcc not found (apt-get install gcc libc6-dev)" >&2
	exit 1
fi

mkdir -p "$out_dir/rootfs"
# Build to a temporary name and rename, so a half-written binary is never picked up.
tmp="$bin.tmp.$$"
trap 'rm -f "$tmp"' EXIT
gcc -static -Os -Wall -Wextra -Werror -o "$tmp" "$src"
strip "$tmp" 2>/dev/null || true
mv -f "$tmp" "$bin"
echo "build-pause.sh: built $bin"
