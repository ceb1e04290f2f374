#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 30), from the committed
# seeds (fuzz/seeds/<target>) and what earlier runs found (fuzz/corpus/<target>,
# not committed). A crash or a failed property stops the run with the input
# that caused it in fuzz/artifacts/<target>/ (see FUZZING.md).
#
#   fuzz/run.sh            # every target, 30 s each
#   fuzz/run.sh 600 inflate
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(frame_stream frame_roundtrip utf8_stream inflate envelope msgpack packet upgrade_headers)
fi
cargo +nightly fuzz build
for target in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$target"
  echo "-- $target: ${seconds}s"
  # grep hides libFuzzer's progress lines; the fuzzer's own status decides.
  set +e
  cargo +nightly fuzz run "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 2>&1 |
    grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)|panicked|ERROR|SUMMARY|artifact|left|right'
  status=${PIPESTATUS[0]}
  set -e
  if [ "$status" -ne 0 ]; then
    echo "fuzz target $target failed: the input is in fuzz/artifacts/$target/" >&2
    exit 1
  fi
done
