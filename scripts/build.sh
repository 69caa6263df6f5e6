#!/usr/bin/env bash
# Configures and builds the tree into $BUILD_DIR (default: build/ beside the sources).
# Extra arguments go to cmake's configure step (for instance -DRK_SANITIZE=ON).
set -euo pipefail

SRC_DIR="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$SRC_DIR/build}"
JOBS="${JOBS:-$(nproc)}"

cmake -S "$SRC_DIR" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS"
