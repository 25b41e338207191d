#!/bin/sh
# Installs what is missing, configures and builds wick.
# Usage: scripts/build.sh [BUILD_DIR]      (WICK_SANITIZE=1: ASan + UBSan build; default build/)
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
dir=${1:-build}
san=OFF
if [ "${WICK_SANITIZE:-0}" = 1 ]; then
    san=ON
fi
werror=OFF
if [ "${CI:-}" = true ]; then
    werror=ON
fi
cmake -S . -B "$dir" -DWICK_SANITIZE=$san -DWICK_WERROR=$werror >/dev/null
cmake --build "$dir" -j "$(nproc)" >/dev/null || cmake --build "$dir" -j 1
