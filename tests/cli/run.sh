#!/bin/sh
# run.sh — `wick run` as scripts use it: the --json chunk lines (done last, with usage, timings
# and the generated ids), --tokens equal to `wick eval --generate`, the prompt from stdin, --stop,
# exit status 1 with an error chunk then done (finish_reason error), usage errors (exit 2).
scratch=tmp-cli-run
. "$(dirname "$0")/../lib.sh"
LF32="$D/models/llama-F32.gguf"

# --- --json: one object per line; the done line last, with its keys; ids == eval --generate
out=$("$W" run "$LF32" --tokens 798,329,43 --max-tokens 6 --temperature 0 --ignore-eos --json)
expect "json exit" 0 $?
last=$(echo "$out" | tail -n 1)
case "$last" in
{\"type\":\"done\",\"finish_reason\":\"length\",\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":6,*) ok ;;
*) bad "done line: $last" ;;
esac
for k in reasoning_tokens cached_tokens prompt_n prompt_ms prompt_per_second predicted_n \
    predicted_ms predicted_per_second load_ms first_token_ms; do
    case "$last" in *"\"$k\":"*) ok ;; *) bad "done line lacks $k" ;; esac
done
ids=$(echo "$last" | sed 's/.*"ids":\[\([0-9,]*\)\].*/\1/')
want=$("$W" eval --model "$LF32" --tokens 798,329,43 --top 1 --generate 6 --json | tail -n 1 |
    sed 's/.*\[\(.*\)\].*/\1/')
expect "done ids == eval --generate" "$want" "$ids"
expect "every line a chunk" "$(echo "$out" | wc -l | tr -d ' ')" \
    "$(echo "$out" | grep -c '^{"type":"\(progress\|content\|reasoning\|done\)"')"
echo "$out" | grep -q '^{"type":"content","text":'
expect "content lines" 0 $?
expect "one done line" 1 "$(echo "$out" | grep -c '"type":"done"')"

# --- the prompt from stdin == --prompt; the text mode prints the text and a newline
a=$(printf 'Hello, world' | "$W" run "$LF32" --max-tokens 8 --temperature 0 2>/dev/null)
b=$("$W" run --model "$LF32" --prompt 'Hello, world' --max-tokens 8 --temperature 0 2>/dev/null)
expect "stdin prompt" "$b" "$a"
[ -n "$a" ] && ok || bad "no text"

# --- --stop: the text ends before the stop string
full=$("$W" run "$LF32" "Hello, world" --max-tokens 16 --temperature 0 2>/dev/null)
stop=$(printf '%s' "$full" | cut -c5-7)
part=$("$W" run "$LF32" "Hello, world" --max-tokens 16 --temperature 0 --stop "$stop" 2>/dev/null)
case "$full" in "$part$stop"*) ok ;; *) bad "--stop '$stop': '$part' is not the text before it in '$full'" ;; esac

# --- errors: an error chunk, then done with finish_reason error; exit 1; message on stderr
out=$("$W" run "$D/no/such.gguf" --prompt x --json 2>"${TMPDIR:-/tmp}/wick-run-err.$$")
expect "missing model exit" 1 $?
expect "error line" '{"type":"error","code":"not_found"' "$(echo "$out" | head -n 1 | cut -d, -f1-2)"
case "$(echo "$out" | tail -n 1)" in {\"type\":\"done\",\"finish_reason\":\"error\"*) ok ;; *) bad "no done after the error" ;; esac
grep -q "^wick: $D/no/such.gguf: no such file" "${TMPDIR:-/tmp}/wick-run-err.$$"
expect "error on stderr" 0 $?
rm -f "${TMPDIR:-/tmp}/wick-run-err.$$"
"$W" run "$LF32" --tokens 1,2,3 --ctx 2 --json > /dev/null 2>&1
expect "prompt longer than the context exit" 1 $?

# --- usage errors: exit 2
"$W" run --prompt x > /dev/null 2>&1
expect "no model" 2 $?
"$W" run "$LF32" --tokens 1,2 --chat > /dev/null 2>&1
expect "--tokens with --chat" 2 $?
"$W" run "$LF32" --temperature -1 x > /dev/null 2>&1
expect "bad temperature" 2 $?
for t in "" "1,,2" "+5" "1,2," "2147483648" "1;2"; do
    msg=$("$W" run "$LF32" --tokens "$t" 2>&1 > /dev/null)
    expect "bad --tokens '$t'" 2 $?
    case "$msg" in
    *"--tokens: '$t' is not a comma-separated list of token ids"*) ok ;;
    *) bad "bad --tokens '$t': message '$msg'" ;;
    esac
done
"$W" run "$LF32" --bogus x > /dev/null 2>&1
expect "unknown option" 2 $?
# a malformed WICK_MLA is named in a warning, and the run goes on with the form chosen per pass
msg=$(WICK_LOG=warn WICK_MLA=latent "$W" run "$D/models/deepseek2-F32.gguf" --tokens 1,2,3 \
    --max-tokens 1 --temperature 0 2>&1 > /dev/null)
expect "WICK_MLA=latent runs" 0 $?
case "$msg" in
*"WICK_MLA='latent': expected absorbed or expanded"*) ok ;;
*) bad "WICK_MLA=latent: message '$msg'" ;;
esac
"$W" run --help | grep -q 'usage: wick run SPEC'
expect "run --help" 0 $?

echo "run.sh: $n_check checks, $n_fail failed"
[ "$n_fail" = 0 ]
