#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (unit and end-to-end) with ctest.
# Run as root on Debian 12: the end-to-end tests run the binaries as the unprivileged test user.
set -euo pipefail

source "$(dirname "$0")/common.sh"
setup_and_build

cd "$BUILD_DIR"
ctest --output-on-failure --timeout 300 -j "${TEST_JOBS:-1}"
