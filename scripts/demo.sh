#!/bin/sh
# Quick start: sets up, builds and runs wick's main job end to end on a built-in default, without
# the network: the repo's fake Hub (wick-minihub, on 127.0.0.1) serves demo/hub, where the demo
# model lives (wick-demo/arith-GGUF, wick-demo/arith: a small reasoning model trained for this by
# tools/demo-model), and `wick run` fetches it into a throwaway Hugging Face cache, loads it and
# streams its thinking, then its answer, to an arithmetic question.
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

./build/wick-minihub --root demo/hub --exit-after 600 > "$tmp/port" 2> "$tmp/minihub.log" &
mh=$!
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$tmp/port" ] || { echo "demo: the fake Hub did not start" >&2; cat "$tmp/minihub.log" >&2; exit 1; }

export HF_ENDPOINT="http://127.0.0.1:$(cat "$tmp/port")" HF_HUB_CACHE="$tmp/cache"
unset HF_HUB_OFFLINE HF_TOKEN HF_TOKEN_PATH 2>/dev/null || true

q="What is 4825 + 3796?"
# Phi-4-reasoning's system prompt, as the model's template injects it (wick run's chat layout
# does not render the template's literal text yet, so it is passed as --system)
sys=$(printf '{"messages":[]}' | ./build/wick template --tokenizer-config demo/hub/wick-demo/arith/tokenizer_config.json |
    sed -e 's/^<|im_start|>system<|im_sep|>//' -e 's/<|im_end|>$//')
echo "== wick run wick-demo/arith-GGUF:Q8_0 --tokenizer wick-demo/arith --system \"\$sys\" '$q'   (Hub: $HF_ENDPOINT)"
# --json: one chunk per line; shown here as the thinking, then the answer
./build/wick run wick-demo/arith-GGUF:Q8_0 --tokenizer wick-demo/arith --system "$sys" "$q" --temperature 0 \
    --json > "$tmp/chunks"
awk '
/"type":"(reasoning|content)"/ {
    t = $0; sub(/^.*"type":"/, "", t); sub(/".*$/, "", t)
    x = $0; sub(/^.*"text":"/, "", x); sub(/"[,}][^"]*$/, "", x); sub(/"}$/, "", x)
    gsub(/\\n/, "\n", x); gsub(/\\"/, "\"", x); gsub(/\\\\/, "\\", x)
    if (t != last) { printf "%s[%s]\n", (last == "" ? "" : "\n"), t; last = t }
    printf "%s", x
}
/"type":"done"/ { done = $0; sub(/,"ids":\[[^]]*\]/, "", done) }
END { printf "\n\n%s\n", done }' "$tmp/chunks"
