#!/usr/bin/env bash
# install-critest.sh VERSION - build crictl and critest VERSION (kubernetes-sigs/cri-tools, from the Go
# module proxy) into /opt/cri-tools/VERSION/bin, beside whatever version is on PATH: the conformance
# test runs critest v1.37.0 from there and the shared kit's v1.36.0 from /usr/local/bin (a v1.36
# client must keep working). critest has no main package (a compiled test binary): `go test -c`.
# Nothing to do when that version is already there.
set -euo pipefail
V=${1:?usage: install-critest.sh VERSION}
dest=${CRI_TOOLS_DIR:-/opt/cri-tools}/$V/bin
have() { [[ "$("$dest/$1" --version 2>/dev/null || true)" == *"${V#v}"* ]]; }
if have critest && have crictl; then
  echo "crictl and critest $V already in $dest"; exit 0
fi
export PATH=$PATH:/usr/local/go/bin GOFLAGS=-mod=mod
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" && go mod init tools >/dev/null 2>&1
dir=$(go mod download -json "sigs.k8s.io/cri-tools@$V" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
cp -r "$dir" "$tmp/src" && chmod -R u+w "$tmp/src" && cd "$tmp/src"
ldflags="-X sigs.k8s.io/cri-tools/pkg/version.Version=$V"
mkdir -p "$dest"
go build -trimpath -ldflags "$ldflags" -o "$dest/crictl" ./cmd/crictl
go test -c -trimpath -ldflags "$ldflags" -o "$dest/critest" ./cmd/critest
"$dest/crictl" --version; "$dest/critest" --version
