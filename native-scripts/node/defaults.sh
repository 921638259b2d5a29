# shellcheck shell=bash disable=SC2034 # the variables are read by the scripts that source this file
# native-scripts/node/defaults.sh - where corelet's daemons keep things on a node by default, for the
# shell scripts: sourced by corelet-node.sh and provision.sh; sets DEFAULT_* variables and nothing
# else. The same values as src/lib/node-paths.ts (test/unit/lib/node-paths.test.ts checks they agree);
# change both together. The systemd units (native-scripts/systemd/) name /etc/corelet/*.env themselves.
DEFAULT_RUNTIME_SOCKET=/run/corelet/corelet.sock
DEFAULT_RUNTIME_ROOT=/var/lib/corelet
DEFAULT_CONFIG_DIR=/etc/corelet
DEFAULT_AGENT_ROOT=/var/lib/corelet-agent
DEFAULT_POD_LOG_DIR=/var/log/pods
DEFAULT_SCHEDULER_DIR=/var/lib/corelet-scheduler
DEFAULT_CNI_CONF_DIR=/etc/cni/net.d
