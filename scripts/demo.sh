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
sv=
cleanup() {
    [ -n "$mh" ] && kill "$mh" 2>/dev/null
    [ -n "$sv" ] && kill "$sv" 2>/dev/null
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
echo "== wick run wick-demo/arith-GGUF:Q8_0 --tokenizer wick-demo/arith --chat '$q'   (Hub: $HF_ENDPOINT)"
# --json: one chunk per line; shown here as the thinking, then the answer
./build/wick run wick-demo/arith-GGUF:Q8_0 --tokenizer wick-demo/arith --chat "$q" --temperature 0 \
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

# The same model through the OpenAI-compatible server: one streamed chat request with curl.
./build/wick serve --port 0 --model wick-demo/arith-GGUF:Q8_0 > "$tmp/serve.out" 2> "$tmp/serve.log" &
sv=$!
i=0
while [ ! -s "$tmp/serve.out" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
url=$(sed -n 's/^listening on //p' "$tmp/serve.out")
[ -n "$url" ] || { echo "demo: wick serve did not start" >&2; cat "$tmp/serve.log" >&2; exit 1; }
body='{"model":"wick-demo/arith-GGUF:Q8_0","messages":[{"role":"user","content":"What is 12 * 7?"}],"stream":true,"temperature":0}'
echo
echo "== wick serve --port 0 --model wick-demo/arith-GGUF:Q8_0   ($url)"
echo "== curl -N $url/v1/chat/completions -d '$body'"
curl -sSN --max-time 120 "$url/v1/chat/completions" -H 'Content-Type: application/json' -d "$body" \
    > "$tmp/sse"
# the server-sent events: the first chunks (reasoning_content), then the last ones (content, usage)
grep '^data:' "$tmp/sse" > "$tmp/events" || true
n=$(wc -l < "$tmp/events")
[ "$n" -gt 8 ] || { cat "$tmp/sse"; exit 1; }
head -3 "$tmp/events"
echo "... ($((n - 7)) more events) ..."
tail -4 "$tmp/events"
