#!/usr/bin/env bash
# native-scripts/shellcheck.sh: check the shell scripts (native-scripts/, test/, .ci/run) with shellcheck
# (`npm run lint:sh`, part of `npm run lint` and `npm run check`). shellcheck is a Debian package
# (install-deps.sh --test installs it, so CI always has it); on a machine without it this prints
# how to get it and skips, so the check lane still needs no root and no apt. Silence a finding
# only on its line, with the reason: `# shellcheck disable=SCxxxx # why`.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v shellcheck >/dev/null 2>&1; then
	if [ -n "${CI:-}" ]; then
		echo "shellcheck.sh: shellcheck is missing in CI (native-scripts/install-deps.sh --test installs it)" >&2
		exit 1
	fi
	echo "shellcheck.sh: SKIPPED, shellcheck is not installed (apt-get install shellcheck)" >&2
	exit 0
fi
mapfile -t scripts < <(find native-scripts test -name '*.sh' -type f | sort)
shellcheck "${scripts[@]}" .ci/run
echo "shellcheck.sh: ${#scripts[@]} scripts and .ci/run clean ($(shellcheck --version | sed -n 's/^version: //p'))"
