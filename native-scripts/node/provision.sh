#!/usr/bin/env bash
# provision.sh control-plane|node [--name NAME] --ip IP --join-dir DIR [--source DIR] [--prebuilt]
#   [--node-binary PATH] - turns a fresh
# Debian 12 machine (root) into a corelet control plane or node, run by systemd. The Vagrantfile
# calls it on each VM; it works the same on any Debian 12 host.
#
#   control-plane  the scheduler (corelet-scheduler.service), listening on IP; writes DIR/join.env
#                  (how nodes join: server, bootstrap token, CA hash) and DIR/admin-config (the
#                  CLI config), and gives root and the vagrant user the CLI config
#   node           runtime and agent (corelet-runtime/agent.service); joins with DIR/join.env and
#                  reports IP as its address (routes to its pods go there); loads the example images
#
# Steps: Node.js 20 (from nodejs.org when the distribution's is older), the host packages
# (install-deps.sh), the source copied from --source (default: this repository) to /opt/corelet and
# built there (--prebuilt: the source is already /opt/corelet, built for this machine, with its
# node_modules: nothing copied, installed or built, nothing fetched; the VM lab native-scripts/vm/lab.sh
# does this), Node.js from PATH (--node-binary: that binary, linked as /usr/local/bin/node), settings in /etc/corelet/*.env for native-scripts/node/corelet-node.sh (the launcher
# cluster.sh uses too), the units from native-scripts/systemd/. Safe to run again.
set -euo pipefail

die() { echo "provision.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"
[ $# -ge 1 ] || die "usage: provision.sh control-plane|node [--name NAME] --ip IP --join-dir DIR [--source DIR]"
role=$1
shift
name=$(hostname)
ip=
join_dir=
source=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
prebuilt=
node_binary=
while [ $# -gt 0 ]; do
	case $1 in
	--name) name=$2; shift 2 ;;
	--ip) ip=$2; shift 2 ;;
	--join-dir) join_dir=$2; shift 2 ;;
	--source) source=$2; shift 2 ;;
	--prebuilt) prebuilt=1; shift ;;
	--node-binary) node_binary=$2; shift 2 ;;
	*) die "unknown option $1" ;;
	esac
done
case $role in control-plane | node) ;; *) die "unknown role \"$role\": use control-plane or node" ;; esac
[ -n "$ip" ] || die "--ip is required (the address other machines reach this one at)"
[ -n "$join_dir" ] || die "--join-dir is required (a folder the control plane and the nodes share)"
# From the source tree, not from beside this script: Vagrant uploads this one file alone and runs it.
[ -f "$source/native-scripts/node/defaults.sh" ] || die "--source $source is not a corelet source tree (no native-scripts/node/defaults.sh)"
# shellcheck source=native-scripts/node/defaults.sh
. "$source/native-scripts/node/defaults.sh"

NODE_VERSION=20.18.1
prefix=/opt/corelet
export DEBIAN_FRONTEND=noninteractive

# --- Node.js 20 ----------------------------------------------------------------------------------
if [ -n "$node_binary" ]; then
	[ -x "$node_binary" ] || die "--node-binary $node_binary is not an executable"
	[ "$node_binary" = /usr/local/bin/node ] || ln -sf "$node_binary" /usr/local/bin/node
fi
major=$(node --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/' || true)
if [ "${major:-0}" -lt 20 ]; then
	case $(uname -m) in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) die "no Node.js build for $(uname -m)" ;; esac
	apt-get update -q >/dev/null
	apt-get install -y -q curl xz-utils ca-certificates >/dev/null
	tarball=node-v$NODE_VERSION-linux-$arch.tar.xz
	tmp=$(mktemp -d)
	curl -fsSL -o "$tmp/$tarball" "https://nodejs.org/dist/v$NODE_VERSION/$tarball"
	curl -fsSL -o "$tmp/SHASUMS256.txt" "https://nodejs.org/dist/v$NODE_VERSION/SHASUMS256.txt"
	(cd "$tmp" && grep " $tarball\$" SHASUMS256.txt | sha256sum -c -) || die "Node.js download does not match its checksum"
	tar -C /usr/local --strip-components=1 -xJf "$tmp/$tarball"
	rm -rf "$tmp"
fi

# --- packages and corelet itself -------------------------------------------------------------------
apt-get install -y -q rsync umoci busybox-static >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q rsync umoci busybox-static >/dev/null; }
# through bash: a shared folder may not keep the executable bit
bash "$source/native-scripts/install-deps.sh"
if [ -n "$prebuilt" ]; then
	[ "$(cd "$source" && pwd)" = "$prefix" ] || die "--prebuilt needs --source $prefix (got $source)"
	[ -f "$prefix/dist/src/cli/main.js" ] || die "--prebuilt: $prefix/dist/src/cli/main.js is missing"
else
	mkdir -p "$prefix"
	# the host's node_modules and dist may be built for another OS: build here
	rsync -a --delete --exclude node_modules --exclude dist --exclude .vagrant --exclude .git "$source/" "$prefix/"
	(cd "$prefix" && npm ci --no-audit --no-fund --loglevel=error && npm run build >/dev/null)
fi
ln -sf "$prefix/dist/src/cli/main.js" /usr/local/bin/corelet
install -m 644 "$prefix"/native-scripts/systemd/corelet-*.service /etc/systemd/system/
systemctl daemon-reload
mkdir -p /etc/corelet

if [ "$role" = control-plane ]; then
	cat >/etc/corelet/scheduler.env <<-EOF
		SCHEDULER_DIR=$DEFAULT_SCHEDULER_DIR
		SCHEDULER_ADDRESS=0.0.0.0
		SCHEDULER_PORT=6443
		SCHEDULER_HOSTS="$ip $name"
		CLUSTER_CIDR=10.244.0.0/16
		JOIN_FILE=/etc/corelet/join.env
	EOF
	HOME=/root "$prefix/native-scripts/node/corelet-node.sh" init /etc/corelet/scheduler.env
	systemctl enable corelet-scheduler.service
	systemctl restart corelet-scheduler.service
	mkdir -p "$join_dir"
	install -m 600 /etc/corelet/join.env "$join_dir/join.env"
	install -m 600 /root/.corelet/config "$join_dir/admin-config"
	if id vagrant >/dev/null 2>&1; then
		install -d -o vagrant -g vagrant -m 700 ~vagrant/.corelet
		install -o vagrant -g vagrant -m 600 /root/.corelet/config ~vagrant/.corelet/config
	fi
	echo "control plane up: https://$ip:6443 (corelet get nodes)"
else
	[ -f "$join_dir/join.env" ] || die "$join_dir/join.env is missing: provision the control plane first"
	install -m 600 "$join_dir/join.env" /etc/corelet/join.env
	mkdir -p /root/.corelet
	install -m 600 "$join_dir/admin-config" /root/.corelet/config
	cat >/etc/corelet/node.env <<-EOF
		NODE_NAME=$name
		NODE_IP=$ip
		JOIN_FILE=/etc/corelet/join.env
	EOF
	# (re)start the runtime on this build; its socket appears once it serves
	systemctl enable corelet-runtime.service
	systemctl stop corelet-runtime.service
	rm -f "$DEFAULT_RUNTIME_SOCKET"
	systemctl start corelet-runtime.service
	# up to 5 minutes: a VM without hardware virtualization (qemu TCG) starts Node 20-30 times slower
	for _ in $(seq 1 1500); do [ -S "$DEFAULT_RUNTIME_SOCKET" ] && break; sleep 0.2; done
	[ -S "$DEFAULT_RUNTIME_SOCKET" ] || die "corelet runtime did not start: journalctl -u corelet-runtime"
	# the example's images, so `corelet apply -f /opt/corelet/examples/` runs without a registry
	"$prefix/native-scripts/build-example-images.sh" "$prefix/dist/examples/zeus-images.tar" >/dev/null
	corelet images import "$prefix/dist/examples/zeus-images.tar"
	systemctl enable corelet-agent.service
	systemctl restart corelet-agent.service
	echo "node $name up at $ip"
fi
