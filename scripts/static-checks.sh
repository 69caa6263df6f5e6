#!/usr/bin/env bash
# static-checks.sh [BUILD_DIR]: clang-tidy (configuration: .clang-tidy) and cppcheck
# (suppressions: .cppcheck-suppressions) on the project's own sources: core/, plugins/, sdk/ and
# tests/. Fails on any finding. BUILD_DIR (default build/) must have been configured, for its
# compile_commands.json; each source it lists is checked once, with the flags it is built with,
# $JOBS (default: the number of cores) at a time. The full output goes to $STATIC_LOG_DIR
# (default BUILD_DIR/static-checks).
set -euo pipefail

SRC_DIR="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_DIR="${1:-${BUILD_DIR:-$SRC_DIR/build}}"
JOBS="${JOBS:-$(nproc)}"
LOG_DIR="${STATIC_LOG_DIR:-$BUILD_DIR/static-checks}"

log() { printf 'static-checks: %s\n' "$*"; }

if [ ! -f "$BUILD_DIR/compile_commands.json" ]; then
  echo "static-checks: no compile_commands.json in $BUILD_DIR: configure the build first" >&2
  exit 1
fi

# Our sources in the compilation database, each once (a fixture compiled ten times with
# different definitions is checked with the first set).
own_sources() {
  python3 - "$BUILD_DIR/compile_commands.json" "$SRC_DIR" <<'EOF'
import json, os, re, sys
database, src = sys.argv[1], os.path.realpath(sys.argv[2])
own = re.compile(re.escape(src) + r"/(core|plugins|sdk|tests)/.*\.(c|cc)$")
seen = []
for entry in json.load(open(database)):
    path = os.path.realpath(os.path.join(entry["directory"], entry["file"]))
    if own.match(path) and path not in seen:
        seen.append(path)
print("\n".join(sorted(seen)))
EOF
}

# One file: its findings into LOG_DIR/<file>.log; an empty log means clean.
tidy_one() {
  local file="$1"
  local out="$LOG_DIR/tidy/${file//\//_}.log"
  if clang-tidy -p "$BUILD_DIR" --quiet "$file" >"$out.raw" 2>&1; then
    rm -f "$out.raw"
    return 0
  fi
  mv "$out.raw" "$out"
  return 1
}
export -f tidy_one
export BUILD_DIR LOG_DIR

run_clang_tidy() {
  log "clang-tidy ($(clang-tidy --version | grep -o 'version [0-9.]*'))"
  rm -rf "$LOG_DIR/tidy"
  mkdir -p "$LOG_DIR/tidy"
  local files
  mapfile -t files < <(own_sources)
  # Biggest first, so that the last job to finish is a short one.
  if printf '%s\0' "${files[@]}" | xargs -0 ls -S | tr '\n' '\0' |
      xargs -0 -n 1 -P "$JOBS" bash -c 'tidy_one "$0"'; then
    log "clang-tidy: ${#files[@]} files, no finding"
    return 0
  fi
  # A header's finding comes once per file including it: print each once.
  cat "$LOG_DIR"/tidy/*.log | grep -E '(error|warning): ' | sort -u | head -n 200
  echo "static-checks: clang-tidy found problems (in full: $LOG_DIR/tidy/)" >&2
  return 1
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
