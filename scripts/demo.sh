#!/bin/sh
# Quick start: sets up, builds and runs wick's main job on a bundled model (no network needed).
set -eu
cd "$(dirname "$0")/.."
sh scripts/build.sh build
./build/wick info tests/data/models/phi3-Q4_K_M.gguf
