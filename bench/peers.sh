#!/bin/sh
# peers.sh — the same file, prompt and thread counts through wick's bench_model and the peers'
# llama-bench (llama.cpp, ik_llama.cpp, built elsewhere: Release, native CPU flags), back to back,
# so the figures of docs/PERFORMANCE.md can be measured again side by side.
#
#   bench/peers.sh MODEL.gguf PROMPT DECODE THREADS RUNS [LLAMA_BENCH[:EXTRA_ARGS]]...
#   bench/peers.sh /tmp/phi4-4l.gguf 512 128 1,2 3 ~/llama.cpp/build/bin/llama-bench \
#       "~/ik_llama.cpp/build/bin/llama-bench:-rtr 1"
#
# MODEL's architecture picks bench_model (phi3, llama) or bench_model_kimi (deepseek2). Run from
# the source tree after scripts/build.sh (build/). Each peer is run as
# `llama-bench -m MODEL -p PROMPT -n DECODE -t THREADS -r RUNS -o md EXTRA_ARGS`: llama-bench's
# decode test starts from an empty context, wick's after the prompt.
set -eu
if [ $# -lt 5 ]; then
    sed -n '2,13p' "$0" >&2
    exit 2
fi
model=$1 prompt=$2 decode=$3 threads=$4 runs=$5
shift 5
bench=build/bench_model
if build/wick info "$model" --json 2>/dev/null | grep -q '"general.architecture":"deepseek2"'; then
    bench=build/bench_model_kimi
fi
echo "## wick ($bench)"
"$bench" "$model" --prompt "$prompt" --decode "$decode" --threads "$threads" --runs "$runs"
for peer in "$@"; do
    bin=${peer%%:*}
    extra=
    [ "$bin" != "$peer" ] && extra=${peer#*:}
    echo "## $bin $extra"
    # shellcheck disable=SC2086  # EXTRA_ARGS are words
    "$bin" -m "$model" -p "$prompt" -n "$decode" -t "$threads" -r "$runs" -o md $extra 2>/dev/null
done
