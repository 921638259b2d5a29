#!/usr/bin/env bash
# bench.sh [bench flags...] - install what the runtime benchmark needs, build corelet, start the local
# image registry and the reference containerd (shared conformance kit), and run dist/bench/pod-start.js:
# pod start latency and memory per pod, corelet vs containerd. containerd is stopped afterwards only if
# this script started it. Flags go to the benchmark (--profile, --sequential N, --parallel N, ...).
# Then the agent benchmark and the scheduler benchmark (dist/bench/scheduler.js: pods bound per second
# with 5,000 simulated nodes and 10,000 pods, apply → bound latency, the scheduler's memory), and the
# service proxy and cluster DNS benchmarks (dist/bench/service-proxy.js, dist/bench/dns.js; dnsperf and
# dnsmasq-base are installed here, for the bench only).
set -euo pipefail
cd "$(dirname "$0")/.."
native-scripts/install-deps.sh --test
# the DNS bench's load generator and reference server (bench only: not in install-deps.sh)
bench_pkgs=()
command -v dnsperf >/dev/null || bench_pkgs+=(dnsperf)
command -v dnsmasq >/dev/null || bench_pkgs+=(dnsmasq-base)
if [ ${#bench_pkgs[@]} -gt 0 ]; then
  echo "installing: ${bench_pkgs[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${bench_pkgs[@]}" >/dev/null
fi
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
# the service proxy (1,000 Services × 10 endpoints, netns sb-*) and the node DNS server vs dnsmasq (netns sb-dns)
node dist/bench/service-proxy.js
node dist/bench/dns.js
