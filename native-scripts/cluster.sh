#!/usr/bin/env bash
# cluster.sh [--dir DIR] [--name NAME] COMMAND - an N-node corelet cluster on this one machine (root).
#
#   up N                 the scheduler in one network namespace and N nodes in others, each node with
#                        its own runtime and agent (own socket, state, CNI bridge, pod CIDR, cgroups),
#                        all on a host bridge; waits until every node is Ready
#   down                 removes everything `up` made, even after a half-failed `up`; safe to repeat
#   load ARCHIVE         imports an OCI archive into every node's runtime (no registry needed), e.g.
#                        the one native-scripts/build-example-images.sh builds
#   status               the daemons and the nodes as the scheduler sees them
#   crictl NODE ARGS...  crictl against node NODE (node1..), run inside its network namespace so that
#                        exec/attach/port-forward reach the runtime's streaming server
#   exec NODE CMD...     runs CMD inside node NODE's network namespace
#   stop|kill|start DAEMON
#                        stops (SIGTERM), kills (SIGKILL) or starts again one daemon: scheduler,
#                        NODE (its agent and runtime), NODE/agent or NODE/runtime; pods keep running
#                        when their node's daemons stop, as on a real machine
#
# The daemons are started by native-scripts/node/corelet-node.sh from one env file per daemon, the
# same launcher and settings the systemd units use on real machines (native-scripts/systemd/).
#
# Layout: host bridge NAME-br with NET.1 (host), NET.2 (scheduler, netns NAME-sched), NET.11.. (nodes,
# netns NAME-node1..). Nodes are named node1..nodeN; the scheduler gives each a /24 of 10.244.0.0/16
# and their agents route to each other's pods. State, logs and pod data live under DIR; the admin's
# CLI config goes to $HOME/.corelet/config (as `corelet scheduler init` does) and a copy to
# DIR/admin-config.
#
# Settings (flags win over the environment): --dir / CORELET_CLUSTER_DIR (default
# /var/lib/corelet-cluster), --name / CORELET_CLUSTER_NAME (default cl; at most 8 letters or digits:
# it prefixes netns, bridge and cgroup names), CORELET_CLUSTER_NET (first three octets of the node
# network, default 10.99.0), CORELET_CLUSTER_PORT (scheduler port, default 6443); more flags for the
# daemons at `up`: CORELET_CLUSTER_SCHEDULER_ARGS, CORELET_CLUSTER_AGENT_ARGS,
# CORELET_CLUSTER_RUNTIME_ARGS (split on spaces, e.g. "--pod-eviction-timeout 10");
# CORELET_CLUSTER_IMAGEFS_SIZE (e.g. 48m: each node's image store on a tmpfs of that size, so image
# garbage collection thresholds bite without filling the host's disk; `down` unmounts it);
# CORELET_CLUSTER_PINNED_IMAGES (the nodes' PINNED_IMAGES: images their GC never removes).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
launcher=$here/node/corelet-node.sh
main=$repo/dist/src/cli/main.js

S=${CORELET_CLUSTER_DIR:-/var/lib/corelet-cluster}
NAME=${CORELET_CLUSTER_NAME:-cl}
NET=${CORELET_CLUSTER_NET:-10.99.0}
PORT=${CORELET_CLUSTER_PORT:-6443}

say() { echo "cluster.sh: $*" >&2; }
die() { say "$*"; exit 1; }

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2; }

while [ $# -gt 0 ]; do
	case $1 in
	--dir) S=${2:?--dir needs a folder}; shift 2 ;;
	--name) NAME=${2:?--name needs a name}; shift 2 ;;
	-h | --help) usage ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || usage
cmd=$1
shift
case $S in /*) ;; *) S=$(pwd)/$S ;; esac
S=${S%/}

# --- names and places --------------------------------------------------------------------------
# After `up` has written DIR/cluster.env, its values win: `down` must remove what was made.
load_settings() {
	if [ -f "$S/cluster.env" ]; then
		# shellcheck disable=SC1091
		. "$S/cluster.env"
	fi
	[[ $NAME =~ ^[a-z0-9]{1,8}$ ]] || die "cluster name \"$NAME\" must be 1 to 8 lower-case letters or digits"
	[[ $NET =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || die "CORELET_CLUSTER_NET \"$NET\" must be three octets, e.g. 10.99.0"
	[[ $S =~ ^[A-Za-z0-9/._-]+$ ]] || die "state folder \"$S\" must be a path without spaces or special characters"
	BRIDGE=$NAME-br
	SCHED_NS=$NAME-sched
	SCHED_IP=$NET.2
	NODES=${NODES:-0}
}
node_ns() { echo "$NAME-node$1"; }
node_ip() { echo "$NET.$((10 + $1))"; }
node_dir() { echo "$S/nodes/node$1"; }
node_qos() { echo "$NAME-node$1-kubepods"; }
node_cgroup_parent() { echo "/$NAME-node$1-pods"; }
known_nodes() {
	local i
	for ((i = 1; i <= NODES; i++)); do echo "$i"; done
}

corelet() { node "$main" "$@"; }

# pid_alive PID: running (a zombie is not: daemons outlive `up`, and whoever reaps them may be slow)
pid_alive() { [ -r "/proc/$1/stat" ] && [ "$(sed -E 's/.*\) ([A-Za-z]).*/\1/' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
# alive PID_FILE: its daemon is running; the command line must name the state folder, so that a pid
# reused by another process after a reboot or crash is never taken for (and killed as) ours
alive() {
	[ -f "$1" ] || return 1
	local pid
	pid=$(cat "$1")
	pid_alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$S/"
}

# start_daemon NETNS ROLE ENV_FILE LOG PID_FILE: the launcher inside the netns (network only: the
# mounts the runtime makes stay visible on the host), in its own session so that a Ctrl-C of the
# caller does not reach it. setsid and nsenter exec in place, so $! is the daemon's pid.
start_daemon() {
	nsenter --net="/run/netns/$1" setsid "$launcher" "$2" "$3" >>"$4" 2>&1 </dev/null &
	echo $! >"$5"
}

# wait_for WHAT PID_FILE LOG SECONDS TEST...: polls TEST until it succeeds; fails with the log's tail
# when the daemon exits or time runs out
wait_for() {
	local what=$1 pidfile=$2 log=$3 seconds=$4
	shift 4
	local deadline=$((SECONDS + seconds))
	while ! "$@" 2>/dev/null; do
		# the process just started: only its end counts (its command line reads empty or another
		# program's while nsenter → setsid → launcher → node exec one another, which alive() would
		# take for an exit)
		if ! pid_alive "$(cat "$pidfile")"; then
			say "$what exited; last lines of $log:"
			tail -n 30 "$log" >&2 || true
			die "up failed: run \`cluster.sh down\` to remove what was made"
		fi
		if [ $SECONDS -ge $deadline ]; then
			say "$what not ready after ${seconds}s; last lines of $log:"
			tail -n 30 "$log" >&2 || true
			die "up failed: run \`cluster.sh down\` to remove what was made"
		fi
		sleep 0.2
	done
}

tcp_open() { timeout 1 bash -c ">/dev/tcp/$1/$2"; }

# api_nodes: one line per node the scheduler knows: NAME READY PODCIDR INTERNAL-IP (through the
# corelet CLI as the cluster's admin; the CLI does the TLS, the token and the errors)
api_nodes() {
	# shellcheck disable=SC2016 # a JavaScript program in single quotes: its template strings are not the shell's
	CORELET_CONFIG="$S/admin-config" node "$main" get nodes -o json | node --input-type=module -e '
		let body = "";
		process.stdin.on("data", (d) => (body += d));
		process.stdin.on("end", () => {
		  for (const n of JSON.parse(body).items) {
		    const ready = n.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
		    const ip = n.status?.addresses?.find((a) => a.type === "InternalIP")?.address ?? "-";
		    console.log(`${n.metadata.name} ${ready ? "Ready" : "NotReady"} ${n.spec?.podCIDR ?? "-"} ${ip}`);
		  }
		});'
}

print_nodes() { api_nodes | awk 'BEGIN { f = "%-10s %-9s %-16s %s\n"; printf f, "NAME", "READY", "POD-CIDR", "INTERNAL-IP" } { printf f, $1, $2, $3, $4 }'; }

all_ready() { [ "$(api_nodes | awk '$2 == "Ready"' | wc -l)" -eq "$1" ]; }

# --- up ----------------------------------------------------------------------------------------
# netns_link NETNS HOST_VETH IP: a netns on the host bridge with IP, a default route via the host and
# IP forwarding on (its pods' traffic is routed through it)
netns_link() {
	ip netns add "$1"
	ip link add "$2" type veth peer name eth0 netns "$1"
	ip link set "$2" master "$BRIDGE" up
	nsenter --net="/run/netns/$1" sh -c "
		ip link set lo up && ip addr add $3/24 dev eth0 && ip link set eth0 up &&
		ip route add default via $NET.1 && sysctl -qw net.ipv4.ip_forward=1"
}

up() {
	local n=${1:-}
	# shellcheck disable=SC2015 # A && B || die: dying when any test fails is the point
	[[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 200 ] || die "usage: cluster.sh up N (1 to 200 nodes)"
	[ "$(id -u)" = 0 ] || die "run as root: it creates network namespaces, a bridge and cgroups"
	[ -f "$main" ] || die "$main is missing: build corelet first (npm run build)"
	local t
	for t in ip nsenter setsid findmnt; do command -v $t >/dev/null || die "$t not found (apt-get install iproute2 util-linux)"; done
	[ ! -f "$S/cluster.env" ] || die "a cluster is already set up in $S: run \`cluster.sh down\` first"
	load_settings
	if ip link show "$BRIDGE" >/dev/null 2>&1 || [ -e "/run/netns/$SCHED_NS" ]; then
		die "bridge $BRIDGE or netns $SCHED_NS exists: another cluster named $NAME is up (\`cluster.sh down\`, or --name)"
	fi
	if ip -4 -o addr show | grep -q " $NET\.1/"; then die "$NET.1 is already on this host: set CORELET_CLUSTER_NET to a free /24"; fi
	local imagefs=${CORELET_CLUSTER_IMAGEFS_SIZE:-}
	[[ $imagefs =~ ^([1-9][0-9]*[kmg]?)?$ ]] || die "CORELET_CLUSTER_IMAGEFS_SIZE \"$imagefs\" must be a tmpfs size of at least 1, such as 48m (tmpfs takes 0 as unlimited)"

	# `down` removes the whole folder: it must be ours alone
	if [ -d "$S" ] && [ -n "$(ls -A "$S")" ]; then die "$S is not empty: give an empty or new folder (--dir)"; fi
	mkdir -p "$S"
	# first, so that `down` finds the names even if everything below fails
	printf 'NAME=%s\nNET=%s\nPORT=%s\nNODES=%s\n' "$NAME" "$NET" "$PORT" "$n" >"$S/cluster.env"
	NODES=$n

	ip link add "$BRIDGE" type bridge
	ip addr add "$NET.1/24" dev "$BRIDGE"
	ip link set "$BRIDGE" up
	# the host may drop forwarded (bridged, with br_netfilter) traffic; let the cluster's own through
	if command -v iptables >/dev/null && [ "$(iptables -S FORWARD 2>/dev/null | head -n 1)" != "-P FORWARD ACCEPT" ]; then
		echo "FORWARD_RULE=1" >>"$S/cluster.env"
		iptables -I FORWARD -i "$BRIDGE" -o "$BRIDGE" -m comment --comment "corelet cluster $NAME" -j ACCEPT
	fi

	# the scheduler
	local sd=$S/scheduler
	mkdir -p "$sd"
	cat >"$sd/scheduler.env" <<-EOF
		SCHEDULER_DIR=$sd/state
		SCHEDULER_ADDRESS=$SCHED_IP
		SCHEDULER_PORT=$PORT
		SCHEDULER_HOSTS=$SCHED_IP
		CLUSTER_CIDR=10.244.0.0/16
		JOIN_FILE=$S/join.env
		SCHEDULER_EXTRA_ARGS="${CORELET_CLUSTER_SCHEDULER_ARGS:-}"
	EOF
	netns_link "$SCHED_NS" "$NAME-v0" "$SCHED_IP"
	"$launcher" init "$sd/scheduler.env" >"$sd/init.log" 2>&1 || { cat "$sd/init.log" >&2; die "scheduler init failed"; }
	cp "$HOME/.corelet/config" "$S/admin-config"
	start_daemon "$SCHED_NS" scheduler "$sd/scheduler.env" "$sd/scheduler.log" "$sd/scheduler.pid"
	wait_for scheduler "$sd/scheduler.pid" "$sd/scheduler.log" 60 tcp_open "$SCHED_IP" "$PORT"
	say "scheduler up at https://$SCHED_IP:$PORT"

	# the nodes: runtimes first (they take a moment), then agents
	local i d
	for ((i = 1; i <= n; i++)); do
		d=$(node_dir "$i")
		mkdir -p "$d"
		cat >"$d/node.env" <<-EOF
			NODE_NAME=node$i
			NODE_IP=$(node_ip "$i")
			RUNTIME_SOCKET=$d/corelet.sock
			RUNTIME_ROOT=$d/runtime
			CNI_CONF_DIR=$d/net.d
			CNI_BRIDGE=cni0
			POD_SUBNET=10.88.0.0/24
			CGROUP_DRIVER=cgroupfs
			CGROUP_PARENT=$(node_cgroup_parent "$i")
			AGENT_ROOT=$d/agent
			AGENT_LOG_DIR=$d/pod-logs
			AGENT_ADDRESS=$(node_ip "$i")
			AGENT_PORT=10250
			QOS_CGROUP=$(node_qos "$i")
			JOIN_FILE=$S/join.env
			AGENT_EXTRA_ARGS="${CORELET_CLUSTER_AGENT_ARGS:-}"
			RUNTIME_EXTRA_ARGS="${CORELET_CLUSTER_RUNTIME_ARGS:-}"
			PINNED_IMAGES="${CORELET_CLUSTER_PINNED_IMAGES:-}"
		EOF
		if [ -n "$imagefs" ]; then
			# the image store (RUNTIME_ROOT/images) on a small filesystem of its own: ImageFsInfo and
			# the agent's statfs see its size; `down` unmounts everything under DIR
			mkdir -p "$d/runtime/images"
			mount -t tmpfs -o "size=$imagefs,mode=0700" "$NAME-imagefs" "$d/runtime/images"
		fi
		netns_link "$(node_ns "$i")" "$NAME-v$i" "$(node_ip "$i")"
		start_daemon "$(node_ns "$i")" runtime "$d/node.env" "$d/runtime.log" "$d/runtime.pid"
	done
	for ((i = 1; i <= n; i++)); do
		d=$(node_dir "$i")
		wait_for "node$i's runtime" "$d/runtime.pid" "$d/runtime.log" 60 test -S "$d/corelet.sock"
		start_daemon "$(node_ns "$i")" agent "$d/node.env" "$d/agent.log" "$d/agent.pid"
	done
	for ((i = 1; i <= n; i++)); do
		d=$(node_dir "$i")
		wait_for "node$i's agent" "$d/agent.pid" "$d/agent.log" 60 tcp_open "$(node_ip "$i")" 10250
	done
	wait_for "the nodes" "$sd/scheduler.pid" "$sd/scheduler.log" 90 all_ready "$n"
	print_nodes >&2
	say "cluster $NAME is up: $n nodes; state and logs in $S"
	say "the CLI config is $HOME/.corelet/config; images: cluster.sh load ARCHIVE; remove: cluster.sh down"
}

# --- down --------------------------------------------------------------------------------------
# stop PID_FILE: SIGTERM, up to 5 s, then SIGKILL
stop() {
	alive "$1" || return 0
	local pid i
	pid=$(cat "$1")
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 25; i++)); do pid_alive "$pid" || return 0; sleep 0.2; done
	kill -KILL "$pid" 2>/dev/null || true
}

# mounts_under DIR: mount points inside DIR
mounts_under() { findmnt -rn -o TARGET | awk -v p="$1/" 'index($0, p) == 1'; }

cgroup_mounts() { findmnt -rn -t cgroup,cgroup2 -o TARGET; }

# kill_cgroup PATH: SIGKILL every process in the cgroup tree PATH, in every hierarchy
kill_cgroup() {
	local m
	for m in $(cgroup_mounts); do
		[ -d "$m$1" ] || continue
		find "$m$1" -name cgroup.procs -exec cat {} + 2>/dev/null | while read -r pid; do kill -KILL "$pid" 2>/dev/null || true; done
	done
}

# remove_cgroup PATH: rmdir the cgroup tree PATH, deepest first, in every hierarchy
remove_cgroup() {
	local m _
	for _ in 1 2 3 4 5; do
		local left=0
		for m in $(cgroup_mounts); do
			[ -d "$m$1" ] || continue
			left=1
			find "$m$1" -depth -type d -exec rmdir {} \; 2>/dev/null || true
		done
		[ $left = 1 ] || return 0
		kill_cgroup "$1"
		sleep 0.2
	done
	say "could not remove cgroup $1 (processes still in it?)"
}

down() {
	# `up` writes cluster.env before it makes anything: without it there is nothing of ours to remove
	if [ ! -f "$S/cluster.env" ]; then
		say "no cluster in $S: nothing to remove"
		return 0
	fi
	load_settings
	# best effort from here on: one thing that cannot be removed must not stop the rest
	set +e
	local i d ns pid
	# agents first, so that nobody recreates the pods the runtimes remove next
	for i in $(known_nodes); do stop "$(node_dir "$i")/agent.pid"; done
	# the nodes stop for good: their Service rules, conntrack entries and cluster DNS address go
	for i in $(known_nodes); do
		d=$(node_dir "$i")
		if [ ! -e "/run/netns/$(node_ns "$i")" ] || [ ! -f "$d/node.env" ]; then continue; fi
		nsenter --net="/run/netns/$(node_ns "$i")" "$launcher" agent-cleanup "$d/node.env" >>"$d/agent.log" 2>&1 ||
			say "node$i: agent --cleanup failed (see $d/agent.log)"
	done
	stop "$S/scheduler/scheduler.pid"
	# the runtimes remove their pods: containers, CNI (IPs, portmap rules), mounts, pod netns
	for i in $(known_nodes); do
		d=$(node_dir "$i")
		if alive "$d/runtime.pid" && command -v crictl >/dev/null; then
			crictl --runtime-endpoint "unix://$d/corelet.sock" --timeout 30s rmp -fa >/dev/null 2>&1 ||
				say "node$i: crictl rmp -fa failed; removing what is left by force"
		fi
		stop "$d/runtime.pid"
	done
	# what may be left after a crash or a half-failed up: processes in the netns (conmon) and in the
	# cgroups (containers), mounts under the state folder, pod netns, devices, cgroups
	for ns in "$SCHED_NS" $(for i in $(known_nodes); do node_ns "$i"; done); do
		[ -e "/run/netns/$ns" ] || continue
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
	done
	for i in $(known_nodes); do
		kill_cgroup "/$(node_qos "$i")"
		kill_cgroup "$(node_cgroup_parent "$i")"
	done
	if [ -d "$S" ]; then
		mounts_under "$S" | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
	fi
	for i in $(known_nodes); do
		for d in "$(node_dir "$i")"/runtime/sandboxes/*; do
			[ -d "$d" ] || continue
			ns=/run/netns/corelet-$(basename "$d" | cut -c1-16)
			if [ -e "$ns" ]; then umount -l "$ns" 2>/dev/null || true; rm -f "$ns"; fi
		done
	done
	for ns in "$SCHED_NS" $(for i in $(known_nodes); do node_ns "$i"; done); do
		if [ -e "/run/netns/$ns" ]; then ip netns del "$ns" 2>/dev/null || say "could not delete netns $ns"; fi
	done
	for i in 0 $(known_nodes); do ip link del "$NAME-v$i" >/dev/null 2>&1 || true; done
	ip link del "$BRIDGE" >/dev/null 2>&1 || true
	if [ "${FORWARD_RULE:-}" = 1 ]; then
		iptables -D FORWARD -i "$BRIDGE" -o "$BRIDGE" -m comment --comment "corelet cluster $NAME" -j ACCEPT 2>/dev/null || true
	fi
	for i in $(known_nodes); do
		remove_cgroup "/$(node_qos "$i")"
		remove_cgroup "$(node_cgroup_parent "$i")"
	done
	# the admin config points at a scheduler that is gone now
	if [ -f "$S/admin-config" ] && cmp -s "$S/admin-config" "$HOME/.corelet/config"; then rm -f "$HOME/.corelet/config"; fi
	if [ -d "$S" ]; then
		if [ -n "$(mounts_under "$S")" ]; then die "mounts under $S remain; not removing it"; fi
		rm -rf "$S"
	fi
	say "cluster $NAME is down"
}

# --- the rest ----------------------------------------------------------------------------------
require_up() {
	[ -f "$S/cluster.env" ] || die "no cluster in $S: run \`cluster.sh up N\` first (or pass --dir)"
	load_settings
}

# node_number NODE: 3 for node3 or 3
node_number() {
	local i=${1#node}
	# shellcheck disable=SC2015 # A && B || die: dying when any test fails is the point
	[[ $i =~ ^[0-9]+$ ]] && [ -d "$(node_dir "$i")" ] || die "no node \"$1\" in this cluster (node1..node$NODES)"
	echo "$i"
}

# daemon_targets DAEMON: "PID_FILE NETNS ROLE ENV_FILE LOG" lines, runtime before agent
daemon_targets() {
	local i
	case $1 in
	scheduler) echo "$S/scheduler/scheduler.pid $SCHED_NS scheduler $S/scheduler/scheduler.env $S/scheduler/scheduler.log" ;;
	node*/agent | node*/runtime)
		i=$(node_number "${1%/*}")
		echo "$(node_dir "$i")/${1#*/}.pid $(node_ns "$i") ${1#*/} $(node_dir "$i")/node.env $(node_dir "$i")/${1#*/}.log"
		;;
	node*) daemon_targets "$1/runtime" && daemon_targets "$1/agent" ;;
	*) die "unknown daemon \"$1\": use scheduler, NODE, NODE/agent or NODE/runtime" ;;
	esac
}

case $cmd in
up) up "$@" ;;
down) down ;;
load)
	require_up
	# shellcheck disable=SC2015 # A && B || die: dying when any test fails is the point
	[ $# -eq 1 ] && [ -f "$1" ] || die "usage: cluster.sh load ARCHIVE (an OCI or docker-save archive)"
	archive=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
	for i in $(known_nodes); do
		say "node$i:"
		corelet images import "$archive" --socket "$(node_dir "$i")/corelet.sock"
	done
	;;
status)
	require_up
	for f in "$S/scheduler/scheduler.pid" "$S"/nodes/*/runtime.pid "$S"/nodes/*/agent.pid; do
		[ -f "$f" ] || continue
		if alive "$f"; then state="running (pid $(cat "$f"))"; else state=stopped; fi
		f=${f#"$S"/}
		printf '%-22s %s\n' "${f%.pid}" "$state"
	done
	print_nodes
	;;
crictl)
	require_up
	[ $# -ge 1 ] || die "usage: cluster.sh crictl NODE ARGS..."
	i=$(node_number "$1")
	shift
	sock=$(node_dir "$i")/corelet.sock
	exec nsenter --net="/run/netns/$(node_ns "$i")" crictl --runtime-endpoint "unix://$sock" --image-endpoint "unix://$sock" "$@"
	;;
exec)
	require_up
	[ $# -ge 2 ] || die "usage: cluster.sh exec NODE CMD..."
	i=$(node_number "$1")
	shift
	exec nsenter --net="/run/netns/$(node_ns "$i")" "$@"
	;;
stop | kill | start)
	require_up
	[ $# -eq 1 ] || die "usage: cluster.sh $cmd scheduler|NODE|NODE/agent|NODE/runtime"
	targets=$(daemon_targets "$1")
	# stop the agent before its runtime; start the runtime before its agent
	[ "$cmd" = start ] || targets=$(echo "$targets" | tac)
	while read -r pidfile ns role env log; do
		case $cmd in
		stop) stop "$pidfile" ;;
		kill)
			if alive "$pidfile"; then
				pid=$(cat "$pidfile")
				kill -KILL "$pid"
				# gone before returning, so a `start` right after starts a new one
				for ((i = 0; i < 50; i++)); do pid_alive "$pid" || break; sleep 0.1; done
			fi
			;;
		start)
			alive "$pidfile" && continue
			# a runtime killed with -9 leaves its socket file: wait for the new one
			[ "$role" != runtime ] || rm -f "$(dirname "$pidfile")/corelet.sock"
			start_daemon "$ns" "$role" "$env" "$log" "$pidfile"
			[ "$role" != runtime ] || wait_for "$1 runtime" "$pidfile" "$log" 60 test -S "$(dirname "$pidfile")/corelet.sock"
			[ "$role" != scheduler ] || wait_for scheduler "$pidfile" "$log" 60 tcp_open "$SCHED_IP" "$PORT"
			;;
		esac
	done <<<"$targets"
	;;
*) usage ;;
esac
