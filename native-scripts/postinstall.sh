#!/usr/bin/env bash
# postinstall.sh - run by npm when corelet is installed from its package: builds the small C programs
# (build-native.sh: the pause process, the corelet-io helper and, with libnftables-dev, the service
# proxy's corelet-nft) for this host, as a native addon is built at install time. Without gcc and libc6-dev the install still succeeds:
# the CLI needs neither program; `corelet runtime` and `corelet agent` refuse to start, naming
# what is missing, until build-native.sh has run.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if ! CORELET_NATIVE_WERROR=0 "$here/build-native.sh" "$here/../dist"; then
	echo "corelet: the runtime's C helpers were not built; the CLI works without them, the runtime and agent do not." >&2
	echo "corelet: install gcc and libc6-dev, then run $here/build-native.sh" >&2
fi
exit 0
