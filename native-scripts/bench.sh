#!/usr/bin/env bash
# bench.sh [bench flags...] - install what the runtime benchmark needs, build corelet, start the local
# image registry and the reference containerd (shared conformance kit), and run dist/bench/pod-start.js:
# pod start latency and memory per pod, corelet vs containerd. containerd is stopped afterwards only if
# this script started it. Flags go to the benchmark (--profile, --sequential N, --parallel N, ...).
# Then the agent benchmark and the scheduler benchmark (dist/bench/scheduler.js: pods bound per second
# with 5,000 simulated nodes and 10,000 pods, apply → bound latency, the scheduler's memory).
set -euo pipefail
cd "$(dirname "$0")/.."
native-scripts/install-deps.sh --test
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build >/dev/null
conformance=$(native-scripts/conformance-dir.sh)
bash "$conformance/up.sh"
# the kit keeps its pid files under $WORK (lib.sh's default unless the caller set WORK)
work=${WORK:-/tmp/corelet-conformance}
pidfile=$work/containerd.pid
started=
if ! { [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }; then
  bash "$conformance/containerd/containerd.sh" start
  started=1
fi
stop_containerd() { [ -z "$started" ] || bash "$conformance/containerd/containerd.sh" stop; }
trap stop_containerd EXIT
node dist/bench/pod-start.js --containerd-pid "$(cat "$pidfile")" "$@"
node dist/bench/exec.js --containerd-pid "$(cat "$pidfile")"
node dist/bench/agent.js
# the scheduler with 5,000 simulated nodes (no containers: needs neither root nor the registry)
node dist/bench/scheduler.js
