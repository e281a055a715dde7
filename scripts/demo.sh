#!/usr/bin/env bash
# The README's main job: build, generate a TinyLlama-1.1B-shaped Q4_0 model
# (637 MB of random weights, made by flashslim itself), then run it under a
# memory budget far below its size, streamed vs llama.cpp-style mmap, each in a
# real memory cgroup with a cold page cache (scripts/stream_bench.sh).
# Usage: bash scripts/demo.sh [BUDGET (default 160M)] [MODEL_DIR (default ./models)]
set -euo pipefail
cd "$(dirname "$0")/.."
BUDGET=${1:-160M}
MODEL_DIR=${2:-models}
BUILD_TARGETS=flashslim bash scripts/build.sh
mkdir -p "$MODEL_DIR"
MODEL="$MODEL_DIR/tinyllama-1.1b-Q4_0.gguf"
if [ ! -f "$MODEL" ]; then
  "${BUILD_DIR:-build}/flashslim" gen-model --preset tinyllama-1.1b --type Q4_0 -o "$MODEL"
fi
BUDGETS="$BUDGET" MODES="${MODES:-mmap stream}" FLASHSLIM_BIN="${BUILD_DIR:-build}/flashslim" \
  bash scripts/stream_bench.sh "$MODEL"
