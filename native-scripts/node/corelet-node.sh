#!/usr/bin/env bash
# corelet-node.sh ROLE ENV_FILE - the one launcher of corelet's daemons, used by the systemd units
# (native-scripts/systemd/) on real machines and by native-scripts/cluster.sh for the nodes of a
# namespace cluster, so both run the same commands from the same settings.
#
# ROLE:
#   init       once, on the control plane: `corelet scheduler init` (CA, server certificate, tokens,
#              ~/.corelet/config for the admin), then writes JOIN_FILE for the nodes. Does nothing
#              when JOIN_FILE already exists.
#   scheduler  exec `corelet scheduler`
#   runtime    writes the runtime's config file from the settings below, then exec `corelet runtime`
#   agent      exec `corelet agent`, joining the scheduler named in JOIN_FILE: the bootstrap token
#              goes to TOKEN_FILE (0600) for --token-file, never onto the command line; once joined
#              the agent uses its certificate in AGENT_ROOT/pki and needs the token no more
#   agent-cleanup
#              runs `corelet agent --cleanup` (with AGENT_EXTRA_ARGS) and exits: the node stops for
#              good, so the Service rules (nft table inet corelet), their conntrack entries and the
#              cluster DNS address on lo go, and the node DNS process the agent started (found in
#              AGENT_ROOT/dns) stops; run it after stopping the agent (cluster.sh down does)
#
# ENV_FILE is sourced by bash: KEY=VALUE lines, no spaces around "=". Every key is optional (the
# default paths below are defined in native-scripts/node/defaults.sh):
#   CORELET          how to run corelet (default: node <this repository>/dist/src/cli/main.js)
#   LOG_LEVEL        debug, info, warn or error (default info)
#   JOIN_FILE        written by init (mode 0600), read by agent: SCHEDULER_SERVER, JOIN_TOKEN,
#                    CA_CERT_HASH (default /etc/corelet/join.env)
# control plane:
#   SCHEDULER_DIR      state: SQLite store and PKI (default /var/lib/corelet-scheduler)
#   SCHEDULER_ADDRESS  listen address (default 0.0.0.0)
#   SCHEDULER_PORT     port of the API and the node sessions (default 6443)
#   SCHEDULER_HOSTS    init: space-separated names/addresses for the server certificate; the first is
#                      the one nodes dial (default: this machine's first IPv4 address)
#   CLUSTER_CIDR       pod addresses of the whole cluster; each node gets a /24 of it (default
#                      10.244.0.0/16)
#   NODE_CERT_TTL      lifetime of the node certificates the scheduler signs (default 720h)
# node:
#   NODE_NAME        the node's name (default: the hostname)
#   NODE_IP          the address other nodes reach this one at (routes to its pods go via it); the
#                    pods' hostIP (default: the agent picks the first non-loopback IPv4 address)
#   RUNTIME_SOCKET   CRI socket (default /run/corelet/corelet.sock)
#   RUNTIME_ROOT     runtime state: images, pods, containers (default /var/lib/corelet)
#   CNI_CONF_DIR     CNI config folder (default /etc/cni/net.d)
#   CNI_BRIDGE       the pods' bridge (default corelet0)
#   POD_SUBNET       pod addresses until the scheduler assigns this node's pod CIDR (default 10.89.0.0/16)
#   CGROUP_DRIVER    systemd or cgroupfs (default: the runtime's, systemd where systemd is PID 1 on a
#                    cgroup v2 host, else cgroupfs; the agent takes the runtime's)
#   CGROUP_PARENT    cgroup of pods that name none (default /corelet; under systemd a slice,
#                    default corelet.slice)
#   PINNED_IMAGES    space-separated image references (or NAME* prefixes) the runtime reports pinned,
#                    so the agent's image garbage collection never removes them (default none)
#   STREAMING_ADDRESS  address of the exec/attach/port-forward server (default 127.0.0.1)
#   AGENT_ROOT       agent state: volumes (default /var/lib/corelet-agent)
#   AGENT_LOG_DIR    pod logs (default /var/log/pods)
#   AGENT_ADDRESS    address of the agent's HTTPS port (/healthz anonymous; /pods, /events,
#                    /metrics for cluster-CA client certificates RBAC allows) (default 127.0.0.1)
#   AGENT_PORT       its port (default 10250)
#   TOKEN_FILE       where agent writes JOIN_TOKEN for --token-file (default
#                    AGENT_ROOT/bootstrap-token)
#   QOS_CGROUP       the agent's top-level pod cgroup (default kubepods); distinct per node when
#                    several nodes share one kernel, as cgroups are not namespaced here
#   SYSTEM_RESERVED  resources kept for the system, e.g. cpu=500m,memory=512Mi (default none)
# any role:
#   SCHEDULER_EXTRA_ARGS, RUNTIME_EXTRA_ARGS, AGENT_EXTRA_ARGS
#                    more flags for that daemon, split on spaces (e.g. "--pod-eviction-timeout 60");
#                    they come last, so they win over the settings above
set -euo pipefail

die() { echo "corelet-node.sh: $*" >&2; exit 1; }
[ $# -eq 2 ] || die "usage: corelet-node.sh init|scheduler|runtime|agent|agent-cleanup ENV_FILE"
role=$1
env_file=$2
[ -r "$env_file" ] || die "cannot read $env_file: write the settings there first (see the top of this script)"
# shellcheck disable=SC1090
. "$env_file"

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=native-scripts/node/defaults.sh
. "$repo/native-scripts/node/defaults.sh"
main=$repo/dist/src/cli/main.js
if [ -z "${CORELET:-}" ]; then
	[ -f "$main" ] || die "$main is missing: build corelet first (npm ci && npm run build in $repo)"
	CORELET="node $main"
fi
read -r -a corelet <<<"$CORELET"
LOG_LEVEL=${LOG_LEVEL:-info}
JOIN_FILE=${JOIN_FILE:-$DEFAULT_CONFIG_DIR/join.env}

first_ipv4() { ip -4 -o addr show scope global | awk '{ sub("/.*", "", $4); print $4; exit }'; }

case $role in
init)
	[ -f "$JOIN_FILE" ] && exit 0
	hosts=${SCHEDULER_HOSTS:-$(first_ipv4)}
	[ -n "$hosts" ] || die "no IPv4 address found for the server certificate: set SCHEDULER_HOSTS"
	# shellcheck disable=SC2086 # one --host per word
	out=$("${corelet[@]}" scheduler init --dir "${SCHEDULER_DIR:-$DEFAULT_SCHEDULER_DIR}" \
		--port "${SCHEDULER_PORT:-6443}" --host $hosts)
	echo "$out"
	# the last line is the join command: corelet agent --server S --token-file F --ca-cert-hash H
	join=$(echo "$out" | awk '/--server/ {
		for (i = 1; i < NF; i++) {
			if ($i == "--server") s = $(i + 1)
			if ($i == "--token-file") f = $(i + 1)
			if ($i == "--ca-cert-hash") h = $(i + 1)
		}
		printf "SCHEDULER_SERVER=%s\nTOKEN_SOURCE=%s\nCA_CERT_HASH=%s\n", s, f, h }')
	[ -n "$join" ] || die "could not read the join command from \`corelet scheduler init\`"
	token_source=$(echo "$join" | sed -n 's/^TOKEN_SOURCE=//p')
	[ -r "$token_source" ] || die "\`corelet scheduler init\` named no readable token file"
	join=$(echo "$join" | grep -v '^TOKEN_SOURCE=')$'\n'"JOIN_TOKEN=$(cat "$token_source")"
	mkdir -p "$(dirname "$JOIN_FILE")"
	(umask 077 && echo "$join" >"$JOIN_FILE.tmp") && mv -f "$JOIN_FILE.tmp" "$JOIN_FILE"
	echo "join settings for the nodes: $JOIN_FILE"
	;;
scheduler)
	args=(scheduler --dir "${SCHEDULER_DIR:-$DEFAULT_SCHEDULER_DIR}" --address "${SCHEDULER_ADDRESS:-0.0.0.0}"
		--port "${SCHEDULER_PORT:-6443}" --log-level "$LOG_LEVEL")
	[ -z "${CLUSTER_CIDR:-}" ] || args+=(--cluster-cidr "$CLUSTER_CIDR")
	[ -z "${NODE_CERT_TTL:-}" ] || args+=(--node-cert-ttl "$NODE_CERT_TTL")
	read -r -a extra <<<"${SCHEDULER_EXTRA_ARGS:-}"
	exec "${corelet[@]}" "${args[@]}" "${extra[@]}"
	;;
runtime)
	root=${RUNTIME_ROOT:-$DEFAULT_RUNTIME_ROOT}
	mkdir -p "$root"
	# written at each start from the settings, so the env file stays the one place to change them
	config=$root/node-runtime.yaml
	cat >"$config.tmp" <<-EOF
		# written by corelet-node.sh from $env_file; edit that file instead
		cni:
		  confDir: ${CNI_CONF_DIR:-$DEFAULT_CNI_CONF_DIR}
		  podSubnet: ${POD_SUBNET:-10.89.0.0/16}
		  bridge: ${CNI_BRIDGE:-corelet0}
		streaming:
		  address: ${STREAMING_ADDRESS:-127.0.0.1}
	EOF
	[ -z "${CGROUP_DRIVER:-}" ] || echo "cgroupDriver: $CGROUP_DRIVER" >>"$config.tmp"
	[ -z "${CGROUP_PARENT:-}" ] || echo "cgroupParent: $CGROUP_PARENT" >>"$config.tmp"
	if [ -n "${PINNED_IMAGES:-}" ]; then
		echo "pinnedImages:" >>"$config.tmp"
		read -r -a pins <<<"$PINNED_IMAGES" # read, not $PINNED_IMAGES unquoted: NAME* must not glob
		for image in "${pins[@]}"; do echo "  - \"$image\"" >>"$config.tmp"; done
	fi
	mv -f "$config.tmp" "$config"
	read -r -a extra <<<"${RUNTIME_EXTRA_ARGS:-}"
	exec "${corelet[@]}" runtime --socket "${RUNTIME_SOCKET:-$DEFAULT_RUNTIME_SOCKET}" --root "$root" \
		--config "$config" --log-level "$LOG_LEVEL" "${extra[@]}"
	;;
agent)
	[ -r "$JOIN_FILE" ] || die "cannot read $JOIN_FILE: copy it from the control plane (written by \`corelet-node.sh init\`)"
	# shellcheck disable=SC1090
	. "$JOIN_FILE"
	agent_root=${AGENT_ROOT:-$DEFAULT_AGENT_ROOT}
	token_file=${TOKEN_FILE:-$agent_root/bootstrap-token}
	# the token goes into a 0600 file, never into argv (`ps` shows argv to every local user)
	(umask 077 && mkdir -p "$(dirname "$token_file")" && printf '%s\n' "$JOIN_TOKEN" >"$token_file.tmp") && mv -f "$token_file.tmp" "$token_file"
	args=(agent --runtime-endpoint "unix://${RUNTIME_SOCKET:-$DEFAULT_RUNTIME_SOCKET}"
		--root "$agent_root" --log-dir "${AGENT_LOG_DIR:-$DEFAULT_POD_LOG_DIR}"
		--address "${AGENT_ADDRESS:-127.0.0.1}" --port "${AGENT_PORT:-10250}" --qos-cgroup "${QOS_CGROUP:-kubepods}"
		--server "$SCHEDULER_SERVER" --token-file "$token_file" --ca-cert-hash "$CA_CERT_HASH" --log-level "$LOG_LEVEL")
	[ -z "${NODE_NAME:-}" ] || args+=(--node-name "$NODE_NAME")
	[ -z "${NODE_IP:-}" ] || args+=(--node-ip "$NODE_IP")
	[ -z "${SYSTEM_RESERVED:-}" ] || args+=(--system-reserved "$SYSTEM_RESERVED")
	read -r -a extra <<<"${AGENT_EXTRA_ARGS:-}"
	exec "${corelet[@]}" "${args[@]}" "${extra[@]}"
	;;
agent-cleanup)
	# the node stops for good (cluster.sh down, node removal): what the agent made for Services on
	# this node (nft table, conntrack entries, cluster DNS address) goes; a plain agent stop keeps it
	# (and the node DNS process the agent started, found through AGENT_ROOT/dns)
	read -r -a extra <<<"${AGENT_EXTRA_ARGS:-}"
	exec "${corelet[@]}" agent --cleanup --root "${AGENT_ROOT:-$DEFAULT_AGENT_ROOT}" --log-level "$LOG_LEVEL" "${extra[@]}"
	;;
*)
	die "unknown role \"$role\": use init, scheduler, runtime, agent or agent-cleanup"
	;;
esac
