#!/usr/bin/env bash
# Runs every cargo-fuzz target for N seconds each (default 60), one after another, one job at a
# time, with seed corpora built from testvectors/. Not part of the default test command.
#   scripts/fuzz.sh [seconds-per-target] [target...]
# Needs: rustup nightly, `cargo install cargo-fuzz`, python3. See docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-60}"
shift || true
python3 scripts/fuzz-seeds.py
cd fuzz
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  mapfile -t TARGETS < <(cargo +nightly fuzz list)
fi
mkdir -p logs
status=0
for t in "${TARGETS[@]}"; do
  echo "== $t (${SECS}s)"
  mkdir -p "corpus/$t"
  if cargo +nightly fuzz run "$t" "corpus/$t" -- \
      -max_total_time="$SECS" -rss_limit_mb=2048 -timeout=10 \
      -max_len=131072 -print_final_stats=1 >"logs/$t.log" 2>&1; then
    grep -E "DONE|^stat::(number_of_executed_units|peak_rss_mb)" "logs/$t.log" | tail -3
  else
    status=1
    echo "!! $t failed: see fuzz/logs/$t.log and fuzz/artifacts/$t/"
    tail -30 "logs/$t.log"
  fi
done
exit $status
