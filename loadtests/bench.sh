#!/usr/bin/env bash
# One measurement: starts TARGET (lyt|nchan|nchan-redis|socketio) on loopback with
# peers/peer.sh, runs lyt-load with SCENARIO against it, sampling the server's processes,
# writes the report to OUT, and stops the server. Extra arguments go to `lyt-load run`.
#
#   loadtests/bench.sh lyt loadtests/scenarios/steady-1k.toml out/lyt-1k [--chats 500 …]
#
# Uses release builds: `nice -n 10 cargo build --release -p lyt -p lyt-loadtests` first.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
target="$1"; scenario="$2"; out="$3"; shift 3
bin_dir="${CARGO_TARGET_DIR:-$here/../target}/release"
port="${BENCH_PORT:-18400}"
run="$(mktemp -d /tmp/lyt-bench.XXXXXX)"
trap '"$here/peers/peer.sh" stop "$run"' EXIT
pids="$("$here/peers/peer.sh" start "$target" "$port" "$run")"
pid_args=()
for p in $pids; do pid_args+=(--server-pid "$p"); done
kind="$target"; [ "$kind" = nchan-redis ] && kind=nchan
nodes=(--node "http://127.0.0.1:$port")
if [ "$kind" = lyt-redis ]; then
  kind=lyt
  nodes+=(--node "http://127.0.0.1:$((port + 2))")
fi
mkdir -p "$out"
ulimit -n 20000
nice -n 5 "$bin_dir/lyt-load" run --scenario "$scenario" --target "$kind" \
  "${nodes[@]}" --demo-dir "$run/lyt-demo" --out "$out" \
  --name "$(basename "$out")" "${pid_args[@]}" "$@" | tee "$out/summary.txt"
