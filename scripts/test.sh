#!/bin/sh
# Sets up, builds and runs every test. WICK_SANITIZE=1 runs them under ASan + UBSan (build-asan/).
set -eu
cd "$(dirname "$0")/.."
dir=build
if [ "${WICK_SANITIZE:-0}" = 1 ]; then
    dir=build-asan
fi
sh scripts/build.sh "$dir"
cd "$dir"
ctest --output-on-failure -j "$(nproc)"
