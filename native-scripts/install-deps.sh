#!/usr/bin/env bash
# install-deps.sh [--test] - install what corelet needs on a Debian 12 host (as root): the OCI
# runtimes, conmon, CNI plugins, mount/iproute tools, nftables, libnftables-dev and conntrack (the
# service proxy; the headers for its corelet-nft helper),
# gcc for the built-in pause binary, and umoci + busybox-static for the example images (corelet up
# --examples). With
# --test also what the test suite uses: containerd (reference runtime), a local registry,
# skopeo (offline images), shellcheck (npm run lint:sh), crictl/critest v1.36.0 (on PATH, the shared
# kit's) and v1.37.0 (in /opt/cri-tools/v1.37.0/bin) built from the Go module proxy, kubectl v1.36.3
# (/opt/k8s/bin/kubectl, the kit's build-k8s.sh; K8S_VERSION picks another), and the VM lab's
# tools (mmdebstrap, qemu: native-scripts/vm/lab.sh). --list prints the node's packages (what a host
# without --test needs) and installs nothing (the VM lab's image uses it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pkgs=(runc crun conmon containernetworking-plugins iproute2 iptables nftables libnftables-dev conntrack mount gcc g++ make python3 libc6-dev ca-certificates busybox-static umoci)
[ "${1:-}" = --list ] && { echo "${pkgs[*]}"; exit 0; }
[ "${1:-}" = --test ] && pkgs+=(tmux openssl iputils-ping containerd docker-registry skopeo curl shellcheck mmdebstrap qemu-system-x86 qemu-utils)
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null; apt-get install -y -q "${missing[@]}" >/dev/null; }
fi
if [ "${1:-}" = --test ]; then
  conformance=$("$here/conformance-dir.sh")
  bash "$conformance/install-cri-tools.sh" v1.36.0 >/dev/null
  bash "$here/install-critest.sh" v1.37.0 >/dev/null
  # kubectl (test/e2e/kubectl.test.ts drives it against a cluster), built from the Go module proxy
  # by the kit's build-k8s.sh (minutes of CPU); kept when /opt/k8s/bin/kubectl is that version already.
  kubectl_version=${K8S_VERSION:-v1.36.3}
  if ! /opt/k8s/bin/kubectl version --client 2>/dev/null | grep -qx "Client Version: $kubectl_version"; then
    K8S_VERSION=$kubectl_version bash "$conformance/build-k8s.sh" kubectl >/dev/null
  fi
fi
