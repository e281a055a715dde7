#!/usr/bin/env bash
# The README's test command: installs dependencies, builds, runs every test.
# Tests read fixtures from ../shared/fixtures (beside the repository).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d ../shared/fixtures ]; then
  echo "test.sh: ../shared/fixtures not found beside the repository; the fixture tests need it" >&2
  exit 1
fi
bash scripts/build.sh
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j"$(nproc)" --timeout 900
