#!/usr/bin/env bash
# static-checks.sh [BUILD_DIR]: clang-tidy (configuration: .clang-tidy) and cppcheck
# (suppressions: .cppcheck-suppressions) on the project's own sources: core/, plugins/, sdk/ and
# tests/. Fails on any finding. BUILD_DIR (default build/) must have been configured, for its
# compile_commands.json; only the sources it lists are given to clang-tidy, with the flags they
# are built with.
set -euo pipefail

SRC_DIR="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_DIR="${1:-${BUILD_DIR:-$SRC_DIR/build}}"
JOBS="${JOBS:-$(nproc)}"
OWN_SOURCES='^'"$SRC_DIR"'/(core|plugins|sdk|tests)/.*\.(c|cc)$'

log() { printf 'static-checks: %s\n' "$*"; }

if [ ! -f "$BUILD_DIR/compile_commands.json" ]; then
  echo "static-checks: no compile_commands.json in $BUILD_DIR: configure the build first" >&2
  exit 1
fi

run_clang_tidy() {
  log "clang-tidy ($(clang-tidy --version | grep -o 'version [0-9.]*'))"
  # run-clang-tidy exits non-zero when any file has a finding (.clang-tidy makes them errors).
  run-clang-tidy -p "$BUILD_DIR" -j "$JOBS" -quiet "$OWN_SOURCES" >"$BUILD_DIR/clang-tidy.log" 2>&1 ||
    {
      grep -E 'error:|warning:' -A3 "$BUILD_DIR/clang-tidy.log" | grep -v '^--$' | head -n 200
      echo "static-checks: clang-tidy found problems (all of them in $BUILD_DIR/clang-tidy.log)" >&2
      return 1
    }
}

run_cppcheck() {
  log "cppcheck ($(cppcheck --version))"
  local files
  mapfile -t files < <(cd "$SRC_DIR" && find core plugins sdk tests -name '*.cc' -o -name '*.c' |
    sort)
  # Only our own headers are searched: the library headers would make it slow and noisy.
  (cd "$SRC_DIR" && cppcheck --std=c++20 --library=googletest --library=posix \
    --enable=warning,performance,portability \
    --inline-suppr --suppressions-list=.cppcheck-suppressions --error-exitcode=1 -q \
    -j "$JOBS" -I . -I sdk/include "${files[@]}")
}

status=0
run_clang_tidy || status=1
run_cppcheck || status=1
[ "$status" -eq 0 ] && log "clean"
exit "$status"
