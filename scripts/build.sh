#!/usr/bin/env bash
# Configures and builds flashslim into ${BUILD_DIR:-build} (Release), after
# installing missing Debian packages. Extra arguments go to cmake; BUILD_TARGETS
# (e.g. "flashslim") limits what ninja builds (default: everything).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
# shellcheck disable=SC2086  # BUILD_TARGETS is a list of targets
ninja -C "$BUILD_DIR" -j"$(nproc)" ${BUILD_TARGETS:-}
