#!/usr/bin/env bash
# build-native.sh [OUT_DIR] - builds corelet's small C programs (OUT_DIR defaults to dist/,
# relative to the repository root):
#   OUT_DIR/pause/rootfs/pause  the static pause process of every pod sandbox (the built-in rootfs)
#   OUT_DIR/bin/corelet-io      the streaming helper: conmon attach sockets, pod network namespaces;
#                               and the subPath bind mounts of the agent (openat2 beneath the volume)
#   OUT_DIR/bin/corelet-nft     the service proxy's long-lived nftables applier (libnftables); left
#                               out, with a message, when libnftables-dev is not installed (the proxy
#                               then runs `nft -f` per sync)
# Idempotent: a binary newer than its source and this script is left alone. Needs gcc and libc6-dev.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out_dir="${1:-$(dirname "$here")/dist}"

# build SRC BIN GCC_FLAGS... [-- LIBS...]: compile to a temporary name and rename, so a half-written
# binary is never picked up.
build() {
	local src=$1 bin=$2; shift 2
	local flags=() libs=()
	while [[ $# -gt 0 && "$1" != -- ]]; do flags+=("$1"); shift; done
	[[ $# -gt 0 ]] && { shift; libs=("$@"); }
	if [[ -x "$bin" && "$bin" -nt "$src" && "$bin" -nt "${BASH_SOURCE[0]}" ]]; then return 0; fi
	command -v gcc >/dev/null 2>&1 || { echo "build-native.sh: gcc not found (apt-get install gcc libc6-dev)" >&2; exit 1; }
	mkdir -p "$(dirname "$bin")"
	local tmp="$bin.tmp.$$"
	# Warnings are errors here (CI, a checkout); an install on another compiler (postinstall sets
	# CORELET_NATIVE_WERROR=0) must not fail on a warning that compiler adds.
	local werror=(-Werror)
	[[ "${CORELET_NATIVE_WERROR:-1}" == 0 ]] && werror=()
	gcc "${flags[@]}" -Wall -Wextra "${werror[@]}" -o "$tmp" "$src" "${libs[@]}" || { rm -f "$tmp"; exit 1; }
	mv -f "$tmp" "$bin"
	echo "build-native.sh: built $bin"
}

build "$here/pause.c" "$out_dir/pause/rootfs/pause" -static -Os -s
build "$here/corelet-io.c" "$out_dir/bin/corelet-io" -O2
if [[ -f /usr/include/nftables/libnftables.h ]]; then
	build "$here/corelet-nft.c" "$out_dir/bin/corelet-nft" -O2 -- -lnftables
else
	echo "build-native.sh: libnftables-dev not installed: corelet-nft left out (the service proxy runs nft -f)" >&2
fi
