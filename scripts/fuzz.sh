#!/usr/bin/env bash
# Builds the libFuzzer programs with clang into $FUZZ_BUILD_DIR (default build-fuzz beside the
# sources) and runs each for $FUZZ_SECONDS (default 20) from a scratch copy of its seed corpus.
# Fails when a program finds a crash, a leak, a timeout or a broken property; the input is then
# in $FUZZ_BUILD_DIR/findings/. tests/fuzz/README.md has the long-run command.
set -euo pipefail

SRC_DIR="$(cd "$(dirname "$0")/.." && pwd)"
FUZZ_BUILD_DIR="${FUZZ_BUILD_DIR:-$SRC_DIR/build-fuzz}"
FUZZ_SECONDS="${FUZZ_SECONDS:-20}"
JOBS="${JOBS:-$(nproc)}"
TARGETS=(port_spec profile api_request plugin_descriptor)

log() { printf 'fuzz: %s\n' "$*"; }

# -O1 -g1, as libFuzzer's documentation suggests: it builds faster than -O2 -g, and the
# short runs here are bounded by time, not by executions.
CC=clang CXX=clang++ cmake -S "$SRC_DIR" -B "$FUZZ_BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
  -DRK_FUZZ=ON -DRK_BUILD_TESTS=OFF -DRK_BUILD_BENCH=OFF >/dev/null
cmake --build "$FUZZ_BUILD_DIR" --target rk_fuzzers -j "$JOBS"

findings="$FUZZ_BUILD_DIR/findings"
mkdir -p "$findings"
failed=()
for target in "${TARGETS[@]}"; do
  scratch="$FUZZ_BUILD_DIR/corpus/$target"
  mkdir -p "$scratch"
  log "$target: ${FUZZ_SECONDS}s"
  # -timeout: one input taking over 10 s is a finding; -rss_limit_mb bounds memory.
  if ! "$FUZZ_BUILD_DIR/bin/fuzz_$target" -max_total_time="$FUZZ_SECONDS" -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$findings/$target-" \
      "$scratch" "$SRC_DIR/tests/fuzz/corpus/$target" >"$FUZZ_BUILD_DIR/fuzz-$target.log" 2>&1; then
    failed+=("$target")
    tail -n 40 "$FUZZ_BUILD_DIR/fuzz-$target.log"
  fi
  grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' \
    "$FUZZ_BUILD_DIR/fuzz-$target.log" | sed "s/^/fuzz: $target: /" || true
done

if [ "${#failed[@]}" -ne 0 ]; then
  log "findings in: ${failed[*]} (inputs in $findings)"
  exit 1
fi
log "no findings"
