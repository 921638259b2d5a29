#!/usr/bin/env bash
# bench.sh [bench flags...] - install what the runtime benchmark needs, build corelet, start the local
# image registry and the reference runtimes (shared conformance kit: containerd 1.6 and 2.4), and run
# the runtime benchmarks, each corelet vs containerd 1.6 vs 2.4 from one run: dist/bench/pod-start.js
# (flags go to it: --sequential N, --parallel N, --trace-only, ...), exec.js, agent.js, memory.js and
# image-pull.js. Then the scheduler benchmark (dist/bench/scheduler.js: pods bound per second
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
# the two references every runtime bench compares with, from one run: containerd 1.6 and 2.4;
# each is stopped afterwards only if this script started it
started=()
for ref in containerd containerd2; do
  pidfile=$work/$ref.pid
  if ! { [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }; then
    bash "$conformance/$ref/$ref.sh" start
    started+=("$ref")
  fi
done
stop_references() { for ref in "${started[@]}"; do bash "$conformance/$ref/$ref.sh" stop; done; }
trap stop_references EXIT
node dist/bench/pod-start.js "$@"
node dist/bench/exec.js
node dist/bench/agent.js
node dist/bench/memory.js --cycles-corelet-only
node dist/bench/image-pull.js --rounds 5
# the scheduler with 5,000 simulated nodes (no containers: needs neither root nor the registry)
node dist/bench/scheduler.js
# the service proxy (1,000 Services × 10 endpoints, netns sb-*) and the node DNS server vs dnsmasq (netns sb-dns)
node dist/bench/service-proxy.js
node dist/bench/dns.js
