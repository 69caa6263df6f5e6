# Shared by the demo and test scripts: where the tree is built so that the unprivileged test
# user can run it. Sourced, not executed.

SRC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TEST_USER="${ROOTLESSKIT_TEST_USER:-rktest}"
export ROOTLESSKIT_TEST_USER="$TEST_USER"

# The test user must be able to read the sources (profiles) and run the binaries. A checkout
# under a private directory (such as /root) is not reachable for it: build from a copy in a
# world-readable staging directory instead.
stage_sources_for_test_user() {
  if su -s /bin/sh "$TEST_USER" -c "test -r '$SRC_DIR/CMakeLists.txt'" 2>/dev/null; then
    return
  fi
  local staged=/var/tmp/rootlesskit-staged-src
  echo "staging: $SRC_DIR is not readable by $TEST_USER; building from $staged"
  rm -rf "$staged"
  mkdir -p "$staged"
  tar -C "$SRC_DIR" --exclude='./build*' --exclude='./.git' -cf - . | tar -C "$staged" -xf -
  chmod -R a+rX "$staged"
  SRC_DIR="$staged"
}

# Installs what is missing, stages the sources if needed, and builds into $BUILD_DIR (exported),
# leaving the build readable and runnable by the test user.
setup_and_build() {
  "$SRC_DIR/scripts/setup.sh"
  stage_sources_for_test_user
  BUILD_DIR="${BUILD_DIR:-$SRC_DIR/build}"
  export BUILD_DIR
  "$SRC_DIR/scripts/build.sh"
  chmod -R a+rX "$BUILD_DIR"
}
