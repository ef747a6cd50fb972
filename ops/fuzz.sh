#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for a bounded time each and reports executions and
# findings (issue #9). Not part of ops/test.sh: fuzzing is a search, not a test; run it
# before a release and after touching a parser, the crypto or the envelopes.
#
#   ops/fuzz.sh [seconds per target, default 60]
#
# cargo-fuzz needs a nightly compiler's -Z flags; on a stable toolchain RUSTC_BOOTSTRAP=1
# unlocks them (the only toolchain on our machines is stable).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${1:-60}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
status=0
for target in $(cargo fuzz list); do
  mkdir -p "corpus/$target" "artifacts/$target"
  log="artifacts/$target/last-run.log"
  if cargo fuzz run "$target" --sanitizer none -- -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 \
      >"$log" 2>&1; then
    result="no findings"
  else
    result="FINDING (see fuzz/artifacts/$target/)"
    status=1
  fi
  execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo "?")
  echo "$target: ${secs}s, ${execs} executions, ${result}"
done
exit "$status"
