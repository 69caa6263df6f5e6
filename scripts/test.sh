#!/usr/bin/env bash
# Installs what is missing, builds, and runs every check CI runs, in this order:
#   1. the whole test suite (unit and end-to-end) with ctest, in the normal build;
#   2. the same suite in a build with AddressSanitizer and UndefinedBehaviorSanitizer
#      ($ASAN_BUILD_DIR), failing on any sanitizer report, also from the programs the
#      end-to-end tests start as the test user (scripts/check-sanitizer-reports.sh);
#   3. a short run of each libFuzzer program (scripts/fuzz.sh);
#   4. clang-tidy and cppcheck on the project's own code (scripts/static-checks.sh), in the
#      background from the end of step 2's build; its output comes after step 3.
# Run as root on Debian 12: the end-to-end tests run the binaries as the unprivileged test user.
# SKIP_SANITIZE=1, SKIP_FUZZ=1 and SKIP_STATIC=1 leave steps 2, 3 and 4 out (each prints its
# time at the end; tests/README.md has the figures). The pasta tests run twice:
# with Debian 12's pasta and with the recent one scripts/build-passt.sh builds
# (RUN_RECENT_PASTA=0 leaves the second pass out).
#
# KNOWN_FAILURES, a ctest -E regex, leaves tests out of the run; it is empty.
set -euo pipefail

source "$(dirname "$0")/common.sh"

timings=()
# Runs a step and records how long it took.
timed() {
  local name="$1"
  shift
  local start=$SECONDS
  "$@"
  timings+=("$name: $((SECONDS - start))s")
}

KNOWN_FAILURES="${KNOWN_FAILURES-}"

run_suite() {
  local exclude=()
  [ -n "$KNOWN_FAILURES" ] && exclude=(-E "$KNOWN_FAILURES")
  (cd "$1" && ctest --output-on-failure --timeout 300 -j "${TEST_JOBS:-1}" "${exclude[@]}")
}

run_pasta_suite() {
  (cd "$1" && ROOTLESSKIT_TEST_PASTA="${PASST_DIR:-/var/tmp/rootlesskit-passt}/bin/pasta" \
    ctest --output-on-failure --timeout 300 -R 'Pasta')
}

# Only what the sanitized suite runs: no benchmarks, no fuzz programs. -O0 -g1 (line tables for
# the reports' stacks) takes about half the CPU of -O1 -g1 to build, and the suite, which mostly
# waits, runs about as fast (tests/README.md has the figures); the Debug type also turns on
# Poco's debug assertions.
build_sanitized() {
  BUILD_DIR="$ASAN_BUILD_DIR" "$SRC_DIR/scripts/build.sh" -DRK_SANITIZE=ON -DRK_BUILD_BENCH=OFF \
    -DRK_FUZZ=OFF -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG="-O0 -g1" \
    -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1"
  chmod -R a+rX "$ASAN_BUILD_DIR"
}

run_sanitized_suite() {
  local reports="$ASAN_BUILD_DIR/sanitizer-reports"
  rm -rf "$reports"
  install -d -m 0755 -o "$TEST_USER" "$reports"
  # The test programs themselves report on stderr (ctest shows it); the programs they start
  # write into $reports, which must stay empty. A connection through the forwarder costs several
  # times more under the sanitizers: the sequential load test makes 10,000 instead of 100,000.
  RK_SANITIZER_REPORT_DIR="$reports" \
    RK_LOAD_SEQUENTIAL_CONNECTIONS="${RK_LOAD_SEQUENTIAL_CONNECTIONS:-10000}" \
    ASAN_OPTIONS="detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    run_suite "$ASAN_BUILD_DIR"
  "$SRC_DIR/scripts/check-sanitizer-reports.sh" "$reports"
}

# Step 4 needs only the normal build's compilation database, and CPU: it runs in the background,
# at the lowest priority, beside the sanitized suite (whose end-to-end tests mostly wait) and the
# fuzzing, in a process group of its own so that an early exit of this script stops it.
start_static_checks() {
  static_log="$BUILD_DIR/static-checks.log"
  static_start=$SECONDS
  setsid nice -n 19 "$SRC_DIR/scripts/static-checks.sh" "$BUILD_DIR" >"$static_log" 2>&1 &
  static_pid=$!
  trap 'kill -- "-$static_pid" 2>/dev/null || true' EXIT
}

# Waits for step 4 and prints what it found; fails when it did.
finish_static_checks() {
  local status=0
  wait "$static_pid" || status=$?
  trap - EXIT
  cat "$static_log"
  timings+=("static checks, in the background: $((SECONDS - static_start))s")
  return "$status"
}

timed "setup and build" setup_and_build
# Upstream's Go rootlesskit and rootlessctl, into a scratch folder, for the interoperability
# tests (tests/e2e/interop_test.cc); needs Debian's mirror.
timed "upstream binaries" "$SRC_DIR/scripts/fetch-upstream.sh"
# Both are prepared now (scripts/setup.sh ran scripts/setup-docker.sh): the rootless Docker and
# interoperability tests fail, instead of skipping, when something they need is missing.
export ROOTLESSKIT_TEST_REQUIRE_DOCKER=1 ROOTLESSKIT_TEST_REQUIRE_UPSTREAM=1
ASAN_BUILD_DIR="${ASAN_BUILD_DIR:-$SRC_DIR/build-asan}"

timed "test suite" run_suite "$BUILD_DIR"
# The pasta tests once more, with the recent pasta scripts/build-passt.sh built (the pass above
# used Debian 12's /usr/bin/pasta).
if [ "${RUN_RECENT_PASTA:-1}" = 1 ]; then
  timed "pasta tests, recent pasta" run_pasta_suite "$BUILD_DIR"
fi
if [ "${SKIP_SANITIZE:-0}" != 1 ]; then
  timed "sanitized build" build_sanitized
fi
if [ "${SKIP_STATIC:-0}" != 1 ]; then
  start_static_checks
fi
if [ "${SKIP_SANITIZE:-0}" != 1 ]; then
  timed "sanitized test suite" run_sanitized_suite
fi
if [ "${SKIP_FUZZ:-0}" != 1 ]; then
  timed "fuzzing" "$SRC_DIR/scripts/fuzz.sh"
fi
if [ "${SKIP_STATIC:-0}" != 1 ]; then
  finish_static_checks
fi

printf 'test: %s\n' "${timings[@]}" "total: ${SECONDS}s"
