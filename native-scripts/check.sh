#!/usr/bin/env bash
# check.sh - the check lane (`npm run check`): type-check, lint (`npm run lint`: boundaries,
# ESLint, shellcheck where installed) and unit tests (test/run-unit.ts: node --test, the light
# files several to a process); no root, no apt, once `npm ci` has run.
# The lint runs beside the type-check and the unit tests (they leave a core idle much of the
# time), and its output is printed at the end, so the lane stays under a minute on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=node_modules/.bin
native-scripts/gen-cri-types.sh --if-stale
lint_log=$(mktemp)
trap 'rm -f "$lint_log"' EXIT
npm run -s lint >"$lint_log" 2>&1 &
lint_pid=$!
unit=0
if "$bin/tsc" -p tsconfig.json; then
	node dist/test/run-unit.js || unit=$?
else
	unit=$?
	echo "check.sh: the type-check failed; unit tests not run" >&2
fi
lint=0
wait "$lint_pid" || lint=$?
echo "== npm run lint (ran beside the type-check and the unit tests)"
cat "$lint_log"
failed=()
if [ "$unit" -ne 0 ]; then failed+=("types or unit tests (above)"); fi
if [ "$lint" -ne 0 ]; then failed+=("lint (just above)"); fi
if [ ${#failed[@]} -gt 0 ]; then
	echo "check.sh: FAILED: ${failed[*]}" >&2
	exit 1
fi
echo "check.sh: types, lint and unit tests passed"
