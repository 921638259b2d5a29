#!/usr/bin/env bash
# lab.sh - a lab of Debian 12 VMs (qemu) for corelet, on a private bridge no traffic leaves (as root).
#
#   lab.sh build [--force]          the base disk image, built offline from Debian packages
#                                   (mmdebstrap; cached: rebuilt only when its package list or this
#                                   script changes)
#   lab.sh up N                     boots vml1..vmlN (N <= 9) with this checkout's build in /opt/corelet
#                                   (a second disk made from dist/, proto/, native-scripts/, examples/,
#                                   node_modules, the host's node and crictl); waits for ssh
#   lab.sh run NAME CMD...          runs CMD (a shell command line) as root on NAME (vml1...), its
#                                   output and exit status passed through
#   lab.sh put NAME SRC DST         copies a host file or folder into NAME; lab.sh get NAME SRC DST back
#   lab.sh provision NAME control-plane|node [ARGS]   native-scripts/node/provision.sh on NAME, with
#                                   the copied build (--prebuilt) and node binary (--node-binary)
#   lab.sh poweroff NAME            kills NAME's qemu (the kernel gone, as a pulled plug)
#   lab.sh status | console NAME    what runs; NAME's serial console so far
#   lab.sh down                     stops every VM, removes the namespace, bridge, taps and overlays
#
# The network: namespace vml with bridge vmlbr0 (10.75.0.1/24) and one tap per VM (vmltapI); VM I is
# 10.75.0.(10+I), its default route the bridge, which routes nowhere. qemu runs inside the namespace.
# Accelerator: KVM when a probe kernel boots under it (cached per host boot), TCG otherwise
# (VML_ACCEL=kvm|tcg forces one). Settings: VML_CACHE (base images, default /var/cache/corelet-vmlab),
# VML_RUN (the running lab, default /run/corelet-vmlab), VML_MEM (MiB per VM, 2048), VML_CPUS (2),
# VML_EXTRA_DIR (a folder copied to /opt/corelet/extra on the /opt/corelet disk); a second lab beside
# another: VML_NETNS, VML_BRIDGE, VML_SUBNET (the /24's first three octets) and VML_RUN of its own.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${VML_CACHE:-/var/cache/corelet-vmlab}
run=${VML_RUN:-/run/corelet-vmlab}
mem=${VML_MEM:-2048}
cpus=${VML_CPUS:-2}
netns=${VML_NETNS:-vml}
bridge=${VML_BRIDGE:-vmlbr0}
subnet=${VML_SUBNET:-10.75.0}
# a TCG guest can stall for tens of seconds while the host's two cores are busy: ssh waits two minutes
# (12 unanswered keep-alives) before it calls the session dead
ssh_opts=(-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes -o ConnectTimeout=5 -o ServerAliveInterval=10 -o ServerAliveCountMax=12)

die() { echo "lab.sh: $*" >&2; exit 1; }
log() { echo "lab.sh: $*" >&2; }
[ "$(id -u)" = 0 ] || die "run as root"

# --- the base image -----------------------------------------------------------------------------

# The VM's packages: the node's (install-deps.sh --list, provision.sh's extras) and the VM's own.
packages() {
	{
		bash "$repo/native-scripts/install-deps.sh" --list
		echo rsync umoci busybox-static   # provision.sh installs these
		echo systemd systemd-sysv dbus udev kmod linux-image-cloud-amd64 initramfs-tools openssh-server \
			procps iputils-ping e2fsprogs util-linux less psmisc
	} | tr ' ' '\n' | sed '/^$/d' | sort -u
}

# The cache key: the package list, the build steps and the files they put in the image.
base_key() {
	{ packages; declare -f cmd_build; cat "$here/vml-net.sh" "$here/vml-net.service" "$cache/id_ed25519.pub" 2>/dev/null; } | sha256sum | cut -c1-16
}

base_dir() { echo "$cache/base-$(base_key)"; }

cmd_build() {
	local force=${1:-}
	mkdir -p "$cache"
	# the lab's ssh key (in the image, so part of its key)
	[ -f "$cache/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C corelet-vmlab -f "$cache/id_ed25519"
	local dir
	dir=$(base_dir)
	if [ -f "$dir/ready" ] && [ "$force" != --force ]; then log "base image cached: $dir"; return 0; fi
	command -v mmdebstrap >/dev/null || die "mmdebstrap missing (native-scripts/install-deps.sh --test installs it)"
	command -v qemu-img >/dev/null || die "qemu-img missing (native-scripts/install-deps.sh --test installs it)"
	rm -rf "$dir"
	mkdir -p "$dir"
	local root="$dir/root"
	log "building the base image in $dir (mmdebstrap, Debian 12)"
	local include
	include=$(packages | paste -sd, -)
	# Hooks run on the host with the chroot as $1: the VM's own settings (fstab, network from the
	# kernel command line, ssh key, the /opt/corelet disk, links to the copied node and crictl).
	# shellcheck disable=SC2016 # $1 is the hook's argument, expanded by mmdebstrap's shell
	mmdebstrap --variant=minbase --include="$include" \
		--aptopt='Acquire::Check-Valid-Until "false"' --aptopt='APT::Install-Recommends "false"' \
		--customize-hook='echo vml > "$1/etc/hostname"' \
		--customize-hook='printf "/dev/vda / ext4 defaults 0 1\n/dev/vdb /opt/corelet ext4 defaults,nofail 0 2\n" > "$1/etc/fstab"' \
		--customize-hook="mkdir -p \"\$1/root/.ssh\" && install -m 600 '$cache/id_ed25519.pub' \"\$1/root/.ssh/authorized_keys\"" \
		--customize-hook="install -m 755 '$here/vml-net.sh' \"\$1/usr/local/sbin/vml-net\" && install -m 644 '$here/vml-net.service' \"\$1/etc/systemd/system/vml-net.service\"" \
		--customize-hook='chroot "$1" systemctl enable vml-net.service ssh.service' \
		--customize-hook='chroot "$1" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer man-db.timer' \
		--customize-hook='mkdir -p "$1/opt/corelet" && ln -sf /opt/corelet/bin/node "$1/usr/local/bin/node" && ln -sf /opt/corelet/bin/crictl "$1/usr/local/bin/crictl"' \
		--customize-hook='printf "overlay\nbr_netfilter\nbridge\nveth\nnf_conntrack\n" > "$1/etc/modules-load.d/vml.conf"' \
		--customize-hook='sed -i "s/^#\?PermitRootLogin.*/PermitRootLogin prohibit-password/; s/^#\?UseDNS.*/UseDNS no/" "$1/etc/ssh/sshd_config"' \
		--customize-hook='passwd -R "$1" -d root' \
		bookworm "$root" http://deb.debian.org/debian >"$dir/mmdebstrap.log" 2>&1 ||
		die "mmdebstrap failed: $dir/mmdebstrap.log"
	cp "$root"/boot/vmlinuz-* "$dir/vmlinuz"
	cp "$root"/boot/initrd.img-* "$dir/initrd.img"
	rm -rf "$root/var/cache/apt/archives"/*.deb "$root/var/lib/apt/lists"/*_Packages
	mke2fs -q -t ext4 -L vmlroot -d "$root" "$dir/root.raw" 4G >/dev/null
	qemu-img convert -O qcow2 "$dir/root.raw" "$dir/base.qcow2"
	rm -rf "$root" "$dir/root.raw"
	packages >"$dir/packages"
	touch "$dir/ready"
	# older bases: only the current one is kept
	find "$cache" -maxdepth 1 -name 'base-*' ! -path "$dir" -exec rm -rf {} +
	log "base image ready: $dir ($(du -sh "$dir/base.qcow2" | cut -f1))"
}

# --- /opt/corelet ----------------------------------------------------------------------------------

# The second disk: this checkout's build, the host's node and crictl, as an ext4 image.
make_opt_disk() {
	local out=$1 stage="$run/opt"
	[ -f "$repo/dist/src/cli/main.js" ] || die "no build in $repo/dist: npm run build first"
	[ -x "$repo/dist/bin/corelet-io" ] || die "no native helpers in $repo/dist: native-scripts/build-native.sh"
	rm -rf "$stage"
	mkdir -p "$stage/bin"
	# hard links where the file system allows (no copy), else copies
	local d
	for d in dist proto native-scripts examples package.json; do
		cp -al "$repo/$d" "$stage/" 2>/dev/null || cp -a "$repo/$d" "$stage/"
	done
	mkdir -p "$stage/node_modules"
	cp -al "$repo/node_modules/." "$stage/node_modules/" 2>/dev/null || cp -a "$repo/node_modules/." "$stage/node_modules/"
	cp "$(command -v node)" "$stage/bin/node"
	cp "$(command -v crictl)" "$stage/bin/crictl" 2>/dev/null || log "no crictl on this host: the VMs have none"
	if [ -n "${VML_EXTRA_DIR:-}" ]; then cp -a "$VML_EXTRA_DIR" "$stage/extra"; fi
	local mib
	mib=$(du -sm "$stage" | cut -f1)
	rm -f "$out"
	mke2fs -q -t ext4 -L vmlopt -d "$stage" "$out" "$((mib * 2 + 512))M" >/dev/null
	rm -rf "$stage"
}

# --- accelerator -----------------------------------------------------------------------------------

# kvm when a kernel boots under it (PVM-style /dev/kvm does not boot stock kernels), else tcg.
accel() {
	if [ -n "${VML_ACCEL:-}" ]; then echo "$VML_ACCEL"; return; fi
	local boot cached
	boot=$(cat /proc/sys/kernel/random/boot_id)
	cached="$cache/accel-$boot"
	if [ -f "$cached" ]; then cat "$cached"; return; fi
	local result=tcg
	if [ -w /dev/kvm ]; then
		local out
		out=$(mktemp)
		timeout 20 qemu-system-x86_64 -accel kvm -cpu host -m 256 -nographic -no-reboot -kernel "$(base_dir)/vmlinuz" \
			-append "console=ttyS0 panic=-1 root=/dev/nothing" -serial "file:$out" -monitor none -display none >/dev/null 2>&1 || true
		grep -q 'VFS: Unable to mount root\|Kernel panic' "$out" && result=kvm
		rm -f "$out"
	fi
	rm -f "$cache"/accel-*
	echo "$result" >"$cached"
	echo "$result"
}

# --- network ---------------------------------------------------------------------------------------

net_up() {
	ip netns list | grep -qx "$netns\( .*\)\?" || ip netns add "$netns"
	ip -n "$netns" link set lo up
	if ! ip -n "$netns" link show "$bridge" >/dev/null 2>&1; then
		ip -n "$netns" link add "$bridge" type bridge
		ip -n "$netns" addr add "$subnet.1/24" dev "$bridge"
		ip -n "$netns" link set "$bridge" up
	fi
}

# --- VMs -------------------------------------------------------------------------------------------

vm_ip() { echo "$subnet.$((10 + ${1#vml}))"; }
check_name() { [[ $1 =~ ^vml[1-9]$ ]] || die "unknown VM \"$1\": vml1..vml9"; }

cmd_up() {
	local n=${1:-1}
	[[ $n =~ ^[1-9]$ ]] || die "up N: N is 1..9"
	cmd_build
	local base
	base=$(base_dir)
	[ ! -d "$run" ] || [ -z "$(ls "$run"/*.pid 2>/dev/null)" ] || die "a lab is up ($run): lab.sh down first"
	mkdir -p "$run"
	net_up
	local a
	a=$(accel)
	log "accelerator: $a"
	local cpu=max accel_opt="tcg,thread=multi"
	[ "$a" = kvm ] && { cpu=host; accel_opt=kvm; }
	make_opt_disk "$run/opt.raw"
	local i name
	for i in $(seq 1 "$n"); do
		name=vml$i
		qemu-img create -q -f qcow2 -b "$base/base.qcow2" -F qcow2 "$run/$name.qcow2"
		qemu-img create -q -f qcow2 -b "$run/opt.raw" -F raw "$run/$name-opt.qcow2"
		ip -n "$netns" tuntap add dev "vmltap$i" mode tap 2>/dev/null || true
		ip -n "$netns" link set "vmltap$i" master "$bridge" up
		ip netns exec "$netns" qemu-system-x86_64 -name "$name" -machine q35 -accel "$accel_opt" -cpu "$cpu" \
			-smp "$cpus" -m "$mem" -monitor none -display none -no-reboot \
			-kernel "$base/vmlinuz" -initrd "$base/initrd.img" \
			-append "root=/dev/vda rw console=ttyS0 net.ifnames=0 systemd.hostname=$name vml.ip=$(vm_ip "$name") panic=-1" \
			-drive "file=$run/$name.qcow2,if=virtio,format=qcow2" \
			-drive "file=$run/$name-opt.qcow2,if=virtio,format=qcow2" \
			-netdev "tap,id=n0,ifname=vmltap$i,script=no,downscript=no" \
			-device "virtio-net-pci,netdev=n0,mac=52:54:00:75:00:$(printf %02x "$i")" \
			-serial "file:$run/$name.console" -daemonize -pidfile "$run/$name.pid" ||
			die "qemu did not start $name"
	done
	local t0=$SECONDS
	for i in $(seq 1 "$n"); do
		name=vml$i
		until ssh_to "$name" true 2>/dev/null; do
			[ $((SECONDS - t0)) -lt 300 ] || die "$name: no ssh after 300 s (lab.sh console $name)"
			kill -0 "$(cat "$run/$name.pid")" 2>/dev/null || die "$name: qemu exited (lab.sh console $name)"
			sleep 2
		done
		log "$name up at $(vm_ip "$name") ($((SECONDS - t0)) s)"
	done
}

ssh_to() {
	local name=$1; shift
	ip netns exec "$netns" ssh "${ssh_opts[@]}" -i "$cache/id_ed25519" "root@$(vm_ip "$name")" "$@"
}

cmd_run() {
	[ $# -ge 2 ] || die "usage: lab.sh run NAME CMD..."
	check_name "$1"
	ssh_to "$@"
}

cmd_put() {
	[ $# -eq 3 ] || die "usage: lab.sh put NAME SRC DST"
	check_name "$1"
	tar -C "$(dirname "$2")" -cf - "$(basename "$2")" | ssh_to "$1" "mkdir -p '$3' && tar -C '$3' -xf -"
}

cmd_get() {
	[ $# -eq 3 ] || die "usage: lab.sh get NAME SRC DST"
	check_name "$1"
	mkdir -p "$3"
	ssh_to "$1" "tar -C \"\$(dirname '$2')\" -cf - \"\$(basename '$2')\"" | tar -C "$3" -xf -
}

cmd_provision() {
	[ $# -ge 2 ] || die "usage: lab.sh provision NAME control-plane|node [ARGS]"
	local name=$1 role=$2; shift 2
	check_name "$name"
	ssh_to "$name" bash /opt/corelet/native-scripts/node/provision.sh "$role" --name "$name" --ip "$(vm_ip "$name")" \
		--source /opt/corelet --prebuilt --node-binary /opt/corelet/bin/node "$@"
}

cmd_poweroff() {
	check_name "${1:-}"
	local pid
	pid=$(cat "$run/$1.pid" 2>/dev/null) || die "$1 is not running"
	kill -9 "$pid" 2>/dev/null || true
	rm -f "$run/$1.pid"
}

cmd_status() {
	local f
	for f in "$run"/*.pid; do
		[ -e "$f" ] || { echo "no VM running"; return 0; }
		local name
		name=$(basename "$f" .pid)
		if kill -0 "$(cat "$f")" 2>/dev/null; then echo "$name $(vm_ip "$name") running"; else echo "$name stopped"; fi
	done
}

cmd_console() {
	check_name "${1:-}"
	cat "$run/$1.console"
}

cmd_down() {
	local f pid
	for f in "$run"/*.pid; do
		[ -e "$f" ] || continue
		pid=$(cat "$f")
		# only a qemu of this lab (its command line names the run folder)
		if grep -qa "$run/" "/proc/$pid/cmdline" 2>/dev/null; then
			kill "$pid" 2>/dev/null || true
			for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
			kill -9 "$pid" 2>/dev/null || true
		fi
		rm -f "$f"
	done
	if ip netns list | grep -qx "$netns\( .*\)\?"; then
		local l
		for l in $(ip -n "$netns" -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep '^vmltap' || true); do
			ip -n "$netns" link del "$l" 2>/dev/null || true
		done
		ip -n "$netns" link del "$bridge" 2>/dev/null || true
		ip netns del "$netns"
	fi
	rm -rf "$run"
	log "down"
}

[ $# -ge 1 ] || die "usage: lab.sh build|up N|run NAME CMD|put|get|provision|poweroff|status|console|down (see the top of $0)"
verb=$1
shift
case $verb in
build) cmd_build "$@" ;;
up) cmd_up "$@" ;;
run) cmd_run "$@" ;;
put) cmd_put "$@" ;;
get) cmd_get "$@" ;;
provision) cmd_provision "$@" ;;
poweroff) cmd_poweroff "$@" ;;
status) cmd_status ;;
console) cmd_console "$@" ;;
down) cmd_down ;;
*) die "unknown verb \"$verb\"" ;;
esac
