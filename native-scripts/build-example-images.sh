#!/usr/bin/env bash
# build-example-images.sh [ARCHIVE] - builds the Zeus ZAP example images (examples/images/) offline:
# no registry, no docker. Each image is this machine's static busybox plus one service's scripts,
# assembled with umoci into one OCI image-layout archive (default dist/examples/zeus-images.tar):
#   corelet.local/zeus/web:1.0  corelet.local/zeus/api:1.0  corelet.local/zeus/api:1.1
#   corelet.local/zeus/quotes:1.0  corelet.local/zeus/db:1.0
# Load it into a node with `corelet images import ARCHIVE --socket S` (or `cluster.sh load ARCHIVE`).
# api:1.1 differs from api:1.0 only in ZEUS_VERSION, so a rolling update can be shown offline.
# Needs umoci and busybox-static (apt-get install umoci busybox-static). BUSYBOX=path overrides
# /bin/busybox (it must be statically linked: the images have no libc).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
src=$repo/examples/images
out=${1:-$repo/dist/examples/zeus-images.tar}
busybox=${BUSYBOX:-/bin/busybox}
prefix=corelet.local/zeus

die() { echo "build-example-images.sh: $*" >&2; exit 1; }
command -v umoci >/dev/null || die "umoci not found: apt-get install umoci"
[ -x "$busybox" ] || die "$busybox not found: apt-get install busybox-static"
# ldd fails on a static binary; a dynamic busybox would need its libraries in every image
if ldd "$busybox" >/dev/null 2>&1; then die "$busybox is dynamically linked: apt-get install busybox-static, or set BUSYBOX"; fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
layout=$work/layout

# --- base: busybox with its applets as hard links, a root user, /data for the database ---------
umoci init --layout "$layout"
umoci new --image "$layout:base"
umoci unpack --image "$layout:base" "$work/base" >/dev/null
root=$work/base/rootfs
mkdir -p "$root"/{bin,dev,etc,proc,sys,tmp,root,data,zeus}
chmod 1777 "$root/tmp"
chmod 700 "$root/root"
install -m 755 "$busybox" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
	[ -e "$root/bin/$applet" ] || ln "$root/bin/busybox" "$root/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
install -m 644 "$src/common/lib.sh" "$root/zeus/lib.sh"
umoci repack --image "$layout:base" "$work/base"
umoci config --image "$layout:base" --config.env PATH=/bin --config.workingdir /

# --- one image per service: its folder becomes /zeus/app, its start script the command ---------
declare -A ports=([web]=8080 [api]=8081 [quotes]=8082 [db]=7000)
for svc in web api quotes db; do
	tag="$prefix/$svc:1.0"
	umoci insert --image "$layout:base" --tag "$tag" "$src/$svc" /zeus/app
	umoci config --image "$layout:$tag" --config.cmd /zeus/app/start \
		--config.env ZEUS_SERVICE=$svc --config.env ZEUS_VERSION=1.0 --config.env "ZEUS_PORT=${ports[$svc]}" \
		--config.exposedports "${ports[$svc]}/tcp" --config.stopsignal SIGTERM
done
umoci config --image "$layout:$prefix/api:1.0" --tag "$prefix/api:1.1" --config.env ZEUS_VERSION=1.1

umoci rm --image "$layout:base"
umoci gc --layout "$layout"
mkdir -p "$(dirname "$out")"
tar -C "$layout" -cf "$out.tmp" oci-layout index.json blobs
mv -f "$out.tmp" "$out"
echo "built $out:"
umoci ls --layout "$layout" | sed 's/^/  /'
