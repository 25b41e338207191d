#!/bin/sh
# Quick start: sets up, builds and runs wick's main job end to end on a built-in default, without
# the network: the repo's fake Hub (wick-minihub, on 127.0.0.1) serves a bundled Phi-4-shaped
# model (arch phi3, Q4_K_M, random weights), `wick pull` fetches it into a throwaway
# Hugging Face cache, `wick info` describes it and `wick run` streams a greedy completion from it.
# The weights are random, so the text is gibberish; the path it takes is the real one.
set -eu
cd "$(dirname "$0")/.."
sh scripts/build.sh build

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wick-demo.XXXXXX")
mh=
cleanup() {
    [ -n "$mh" ] && kill "$mh" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

repo="$tmp/hub/wick-demo/phi3-tiny-GGUF"
mkdir -p "$repo"
cp tests/data/models/phi3-Q4_K_M.gguf "$repo/phi3-tiny-Q4_K_M.gguf"
./build/wick-minihub --root "$tmp/hub" --exit-after 600 > "$tmp/port" 2> "$tmp/minihub.log" &
mh=$!
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$tmp/port" ] || { echo "demo: the fake Hub did not start" >&2; cat "$tmp/minihub.log" >&2; exit 1; }

export HF_ENDPOINT="http://127.0.0.1:$(cat "$tmp/port")" HF_HUB_CACHE="$tmp/cache"
unset HF_HUB_OFFLINE HF_TOKEN HF_TOKEN_PATH 2>/dev/null || true

echo "== wick pull wick-demo/phi3-tiny-GGUF '*Q4_K_M*.gguf'   (from the fake Hub at $HF_ENDPOINT)"
model=$(./build/wick pull wick-demo/phi3-tiny-GGUF '*Q4_K_M*.gguf')
echo "$model"
echo
echo "== wick info (first lines)"
./build/wick info "$model" | head -n 12
echo
echo "== wick run --prompt 'The quick brown fox' --max-tokens 32 --temperature 0"
./build/wick run --model "$model" --prompt "The quick brown fox" --max-tokens 32 --temperature 0
echo
