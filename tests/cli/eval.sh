#!/bin/sh
# eval.sh — `wick eval` and `wick run` end to end: logits and greedy continuations agree with the
# golden files (tests/data/golden: llama.cpp), the JSON and text formats, --top 0 (every logit,
# sorted), 1 vs 2 threads, usage errors (exit 2) and failures (exit 1, "wick: <file>: ...").
scratch=tmp-eval
. "$(dirname "$0")/../lib.sh"
# near WHAT WANT GOT TOL: |want - got| <= tol
near() {
    if awk -v a="$2" -v b="$3" -v t="$4" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'
    then ok; else bad "$1: expected $2 +- $4, got $3"; fi
}

LF32="$D/models/llama-F32.gguf"
PQ4="$D/models/phi3-Q4_K_M.gguf"

# --- golden: llama-F32, prompt "single" (token 1280): top-3 and the 16-token greedy continuation.
# Golden top: 537 12.849012, 500 12.486319, 792 11.992697 (max|logit| 15.28; F32 policy d <= 1e-3)
out=$("$W" eval --model "$LF32" --tokens 1280 --top 3 --generate 16 --json)
expect "eval exit" 0 $?
line1=$(echo "$out" | sed -n 1p)
expect "top ids" "537,500,792" "$(echo "$line1" | grep -o '\[[0-9]*,' | tr -d '[,' | paste -sd, -)"
near "logit 537" 12.849012 "$(echo "$line1" | sed 's/.*"top":\[\[537,\([^]]*\)\].*/\1/')" 0.015
expect "generated (golden greedy)" '{"generated":[537,200,1367,470,470,792,792,792,792,792,792,792,792,792,792,995]}' \
    "$(echo "$out" | sed -n 2p)"
expect "json lines" 2 "$(echo "$out" | wc -l | tr -d ' ')"

# --- golden: phi3-Q4_K_M, prompt "single" (token 791): top-1 1107 (12.397789), greedy steps whose
# margin exceeds 0.1 max|logit| (1.33): 1107 571 (the quantized policy)
out=$("$W" eval --model "$PQ4" --tokens 791 --top 1 --generate 2 --json --threads 2)
expect "phi3 top-1" '{"pos":0,"top":[[1107,' "$(echo "$out" | sed -n 1p | cut -c1-22)"
expect "phi3 greedy" '{"generated":[1107,571]}' "$(echo "$out" | sed -n 2p)"

# --- every position of a prompt is printed; text format
toks="798,329,43,287,1292,1210,18,323,1119,55"
out=$("$W" eval --model "$LF32" --tokens "$toks" --top 5)
expect "text lines" 10 "$(echo "$out" | wc -l | tr -d ' ')"
expect "text format" "pos 9:" "$(echo "$out" | sed -n 10p | cut -d' ' -f1-2)"
expect "text pairs" 5 "$(echo "$out" | sed -n 1p | tr ' ' '\n' | grep -c ':[-0-9]')"

# --- 1 vs 2 threads: identical output (work is split by output element)
"$W" eval --model "$PQ4" --tokens "$toks" --top 40 --json --threads 1 > "$T/t1"
"$W" eval --model "$PQ4" --tokens "$toks" --top 40 --json --threads 2 > "$T/t2"
if cmp -s "$T/t1" "$T/t2"; then ok; else bad "1 and 2 threads differ"; fi
# --- --no-repack: no weight is repacked at load (the debug log says how many are), same output
WICK_LOG=debug "$W" eval --model "$PQ4" --tokens "$toks" --top 40 --json --threads 1 --no-repack \
    > "$T/nr" 2> "$T/nr.log"
expect "--no-repack exit" 0 $?
if cmp -s "$T/t1" "$T/nr"; then ok; else bad "--no-repack: output differs"; fi
expect "--no-repack: nothing repacked" 0 "$(grep -c 'repacked' "$T/nr.log")"
WICK_LOG=debug "$W" eval --model "$PQ4" --tokens 791 --top 1 2> "$T/r.log" > /dev/null
expect "repacked by default" 1 "$(grep -c 'repacked [1-9]' "$T/r.log")"
# f16 KV cache runs and prints the same number of lines
expect "f16 kv" 10 "$("$W" eval --model "$PQ4" --tokens "$toks" --kv-type f16 --json | wc -l | tr -d ' ')"

# --- --top 0: every logit, logit descending
"$W" eval --model "$LF32" --tokens 1280 --top 0 --json > "$T/all"
n_pairs=$(grep -o '\[[0-9]*,[-0-9.e+]*\]' "$T/all" | wc -l | tr -d ' ')
expect "--top 0 pairs = n_vocab" 1536 "$n_pairs"
if grep -o '\[[0-9]*,[-0-9.e+]*\]' "$T/all" | tr -d '[]' | cut -d, -f2 | sort -g -r -c 2>/dev/null
then ok; else bad "--top 0: not sorted by logit"; fi

# --- usage errors: exit 2
"$W" eval --tokens 1 > /dev/null 2>&1
expect "no --model" 2 $?
"$W" eval --model "$LF32" > /dev/null 2>&1
expect "no --tokens" 2 $?
"$W" eval --model "$LF32" --tokens 1,x,3 > /dev/null 2>&1
expect "bad --tokens" 2 $?
"$W" eval --model "$LF32" --tokens 1 --top -1 > /dev/null 2>&1
expect "bad --top" 2 $?
"$W" eval --model "$LF32" --tokens 1 --bogus > /dev/null 2>&1
expect "unknown option" 2 $?
"$W" run --max-tokens 1 > /dev/null 2>&1
expect "run without a model" 2 $?
"$W" eval --help | grep -q 'usage: wick eval'
expect "eval --help" 0 $?

# --- failures: exit 1 with "wick: <file>: reason"
err=$("$W" eval --model "$T/none.gguf" --tokens 1 2>&1 >/dev/null)
expect "missing file exit" 1 $?
expect "missing file message" "wick: $T/none.gguf" "$(echo "$err" | cut -d: -f1-2)"
err=$("$W" eval --model "$LF32" --tokens 99999 2>&1 >/dev/null)
expect "bad token exit" 1 $?
case "$err" in *"99999"*) ok ;; *) bad "bad token message: $err" ;; esac
"$W" eval --model "$LF32" --tokens 1,2,3 --ctx 2 > /dev/null 2>&1
expect "context overflow exit" 1 $?

# --- run: greedy text generation equals eval's greedy ids, decoded; speeds on stderr
if "$W" run --model "$LF32" --prompt "Hello, world" --max-tokens 8 --temperature 0 \
    > "$T/run.out" 2> "$T/run.err"; then ok; else bad "run failed: $(cat "$T/run.err")"; fi
grep -q 'prefill .* tok/s.*decode .* tok/s' "$T/run.err"
expect "run speeds on stderr" 0 $?
# the same continuation through tokenize | eval --generate | detokenize
ids=$(printf 'Hello, world' | "$W" tokenize --model "$LF32" --add-special | tr -d '[] ')
gen=$("$W" eval --model "$LF32" --tokens "$ids" --top 1 --generate 8 --json | tail -n 1 |
    sed 's/.*\[\(.*\)\].*/\1/')
echo "[$gen]" | "$W" detokenize --model "$LF32" > "$T/want.txt"
echo >> "$T/want.txt"
if cmp -s "$T/want.txt" "$T/run.out"; then ok; else bad "run text differs from eval + detokenize"; fi
"$W" run --model "$LF32" --prompt "Hello, world" --max-tokens 8 --temperature 0.9 --seed 7 \
    > "$T/s1" 2>/dev/null
"$W" run --model "$LF32" --prompt "Hello, world" --max-tokens 8 --temperature 0.9 --seed 7 \
    > "$T/s2" 2>/dev/null
if cmp -s "$T/s1" "$T/s2"; then ok; else bad "run --seed is not deterministic"; fi

echo "eval.sh: $n_check checks, $n_fail failed"
[ "$n_fail" = 0 ]
