#!/bin/sh
# tok.sh — `wick tokenize` / `wick detokenize` as scripts use them: output format, sources
# (tokenizer.json, tiktoken, GGUF), special-token flags, round trips, exit codes and messages.
set -u
W="${WICK_BIN:?}"
D="${WICK_TEST_DATA:?}"
T="${WICK_BUILD_DIR:-/tmp}/tmp-cli-tok"
rm -rf "$T" && mkdir -p "$T"
fails=0
n=0

check() { # name expected actual
    n=$((n + 1))
    if [ "$2" != "$3" ]; then
        fails=$((fails + 1))
        printf 'FAIL %s\n  want: %s\n  got:  %s\n' "$1" "$2" "$3" >&2
    fi
}

PHI4="$D/tokenizers/phi4/tokenizer.json"
KIMI="$D/tokenizers/kimi-tiktoken/tiktoken.model"
LLAMA="$D/models/llama-F32.gguf"

# goldens (tokenizers/golden/*.jsonl)
check phi4 '[9906,11,4435,0]' "$(printf 'Hello, World!' | "$W" tokenize --tokenizer "$PHI4")"
check phi4-special '[100264,882,100266,13347,100265,100264,78191,100266]' \
    "$(printf '<|im_start|>user<|im_sep|>Hi<|im_end|><|im_start|>assistant<|im_sep|>' |
        "$W" tokenize --tokenizer "$PHI4")"
check kimi-tiktoken '[7936,1342,7937]' "$(printf '[BOS]text[EOS]' | "$W" tokenize --tokenizer "$KIMI")"
check gguf-llama "[1280,1286,882,1287,271,39,72,1289]" \
    "$(printf '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>' |
        "$W" tokenize --model "$LLAMA")"
# verbatim stdin: empty input, trailing newline
check empty '[]' "$(printf '' | "$W" tokenize --tokenizer "$PHI4")"
check newline '[64,198]' "$(printf 'a\n' | "$W" tokenize --tokenizer "$PHI4")"
# --no-special: the text of a special token is plain text
check no-special '[27,91,318,6345,91,29]' "$(printf '<|im_end|>' | "$W" tokenize --tokenizer "$PHI4" --no-special)"
# --add-special: BOS as the GGUF says (add_bos_token = true), none for Phi-4
check add-special-gguf '[1280,64]' "$(printf 'a' | "$W" tokenize --model "$LLAMA" --add-special)"
check add-special-phi4 '[64]' "$(printf 'a' | "$W" tokenize --tokenizer "$PHI4" --add-special)"

# detokenize: exact bytes, no newline; --skip-special
printf '[9906,11,4435,0,100265]' | "$W" detokenize --tokenizer "$PHI4" >"$T/d1"
check detok "Hello, World!<|im_end|>" "$(cat "$T/d1")"
check detok-bytes 23 "$(wc -c <"$T/d1" | tr -d ' ')"
check detok-skip "Hello, World!" \
    "$(printf '[9906,11,4435,0,100265]' | "$W" detokenize --tokenizer "$PHI4" --skip-special)"
check detok-empty "" "$(printf '[]' | "$W" detokenize --tokenizer "$PHI4")"

# round trips through every source
printf 'Héllo wörld — 日本語のテキスト 🤖\n\tcode(x) { return 42; }\n<think>ok</think>  ' >"$T/text"
for src in "--tokenizer $PHI4" "--tokenizer $KIMI" "--model $LLAMA" \
    "--model $D/models/phi3-F32.gguf" "--model $D/models/deepseek2-F32.gguf"; do
    # shellcheck disable=SC2086
    "$W" tokenize $src <"$T/text" >"$T/ids" && "$W" detokenize $src <"$T/ids" >"$T/back"
    n=$((n + 1))
    if ! cmp -s "$T/text" "$T/back"; then
        fails=$((fails + 1))
        echo "FAIL round trip through $src" >&2
    fi
done
# the same ids from a fixture's tokenizer.json and its GGUF vocabulary
a=$("$W" tokenize --tokenizer "$D/tokenizers/mini-kimi-1536/tokenizer.json" <"$T/text")
b=$("$W" tokenize --model "$D/models/deepseek2-F32.gguf" <"$T/text")
check json-vs-gguf "$a" "$b"

# invalid UTF-8: documented as U+FFFD, never a crash
check invalid-utf8 "$(printf '\357\277\275a' | "$W" tokenize --tokenizer "$PHI4")" \
    "$(printf '\377a' | "$W" tokenize --tokenizer "$PHI4")"

# errors: exit 1 with "wick: <file>: reason", exit 2 for usage
expect_fail() { # name status needle command...
    name=$1 st=$2 needle=$3
    shift 3
    "$@" >"$T/out" 2>"$T/err" </dev/null
    got=$?
    n=$((n + 1))
    if [ "$got" != "$st" ] || ! grep -q -- "$needle" "$T/err" || [ -s "$T/out" ]; then
        fails=$((fails + 1))
        echo "FAIL $name: status $got (want $st), stderr: $(cat "$T/err")" >&2
    fi
}
expect_fail missing-file 1 "wick: $T/nope.json:" "$W" tokenize --tokenizer "$T/nope.json"
printf '{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}}' >"$T/bad.json"
expect_fail bad-merge 1 "bad.json: model.merges\[0\]" "$W" tokenize --tokenizer "$T/bad.json"
printf '{"model": {"type": "BPE", "vocab": {"a": 0}' >"$T/trunc.json"
expect_fail truncated 1 "trunc.json: invalid JSON" "$W" tokenize --tokenizer "$T/trunc.json"
printf '{"model": {"type": "Charade", "vocab": []}}' >"$T/uni.json"
expect_fail unsupported 1 "uni.json: model.type: 'Charade' is not supported" "$W" tokenize --tokenizer "$T/uni.json"
expect_fail no-source 2 "wick: tokenize:" "$W" tokenize
expect_fail both-sources 2 "wick: tokenize:" "$W" tokenize --tokenizer "$PHI4" --model "$LLAMA"
expect_fail bad-option 2 "wick: detokenize:" "$W" detokenize --tokenizer "$PHI4" --frob
printf '[1, "x"]' >"$T/badids"
"$W" detokenize --tokenizer "$PHI4" <"$T/badids" >/dev/null 2>"$T/err"
check bad-ids-status 1 $?
printf '[99999999]' | "$W" detokenize --tokenizer "$PHI4" >/dev/null 2>"$T/err"
check bad-id-status 1 $?
n=$((n + 1))
grep -q "token id 99999999 out of range" "$T/err" || { fails=$((fails + 1)); echo "FAIL bad-id message: $(cat "$T/err")" >&2; }
"$W" tokenize --help >"$T/out"
check help-status 0 $?

echo "cli tok: $n checks, $fails failed"
[ "$fails" -eq 0 ]
