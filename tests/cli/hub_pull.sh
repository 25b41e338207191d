#!/bin/sh
# hub_pull.sh — `wick pull`, `wick ls`, `wick rm` as scripts use them, against the fake Hub
# (wick-minihub on 127.0.0.1, started and stopped here).
set -u
W="$WICK_BIN"
T="$WICK_BUILD_DIR/tmp-cli-hub"
fail=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fail=1; }
check() { if eval "$1"; then ok "$2"; else bad "$2"; fi; }

rm -rf "$T"
mkdir -p "$T/root/org/model/Q4_K_M" "$T/root/org/model/docs"
head -c 200000 /dev/urandom > "$T/root/org/model/model-Q4_K_M.gguf"
for i in 1 2 3; do head -c 30000 /dev/urandom > "$T/root/org/model/Q4_K_M/m-Q4_K_M-0000$i-of-00003.gguf"; done
printf '{"model_type":"llama"}\n' > "$T/root/org/model/config.json"
printf 'hello\n' > "$T/root/org/model/docs/read me.txt"

"$WICK_BUILD_DIR/wick-minihub" --root "$T/root" --log "$T/req.log" --token hf_cli_secret_token \
    --exit-after 120 > "$T/port" 2>"$T/minihub.err" &
MH=$!
trap 'kill $MH 2>/dev/null' EXIT INT TERM
i=0
while [ ! -s "$T/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
PORT=$(cat "$T/port")
[ -n "$PORT" ] || { echo "FAIL: minihub did not start"; exit 1; }

export HF_ENDPOINT="http://127.0.0.1:$PORT" HF_HUB_CACHE="$T/cache" HF_TOKEN=hf_cli_secret_token
unset HF_HUB_OFFLINE HF_HOME HF_TOKEN_PATH 2>/dev/null
export WICK_HUB_BACKOFF_MS=50

# one exact file: one absolute snapshot path on stdout, the bytes verified
"$W" pull org/model model-Q4_K_M.gguf > "$T/out1" 2> "$T/err1"
rc=$?
check '[ $rc -eq 0 ]' "pull exact file exits 0"
P=$(cat "$T/out1")
check '[ $(wc -l < "$T/out1") -eq 1 ] && cmp -s "$P" "$T/root/org/model/model-Q4_K_M.gguf"' "stdout is the snapshot path, bytes match"
check 'case "$P" in "$T/cache/models--org--model/snapshots/"*) true;; *) false;; esac' "path in the HF cache layout"
check '[ -L "$P" ] && readlink "$P" | grep -q "^\.\./\.\./blobs/"' "relative symlink to the blob"
check '[ "$(cat "$T/cache/models--org--model/refs/main" | wc -c)" -eq 40 ]' "refs/main: 40 bytes, no newline"

# --parts: the same file fetched as 2 ranges (into a second cache)
HF_HUB_CACHE="$T/cache-parts" WICK_HUB_PART_MIN=1000 "$W" pull org/model model-Q4_K_M.gguf --parts 2 > "$T/outp" 2>/dev/null
check '[ $? -eq 0 ] && cmp -s "$(cat "$T/outp")" "$T/root/org/model/model-Q4_K_M.gguf"' "--parts 2 gives the same bytes"
check '[ $(grep -c "range=bytes=[0-9]*-[0-9]" "$T/req.log") -eq 2 ]' "--parts 2 sent 2 ranged requests"
"$W" pull org/model x --parts 0 > /dev/null 2>&1
check '[ $? -eq 2 ]' "--parts 0 is a usage error"

# a relative HF_HUB_CACHE still gives absolute paths
(cd "$T" && HF_HUB_CACHE=cache "$W" pull org/model model-Q4_K_M.gguf > "$T/out0" 2>/dev/null)
check '[ "$(cat "$T/out0")" = "$P" ]' "relative HF_HUB_CACHE: the same absolute path"

# a glob: every .gguf (* crosses /), listing order, JSON objects
"$W" pull org/model '*.gguf' --json > "$T/out2" 2> "$T/err2"
rc=$?
check '[ $rc -eq 0 ] && [ $(wc -l < "$T/out2") -eq 4 ]' "glob *.gguf selects 4 files"
check 'head -1 "$T/out2" | grep -q "\"file\":\"Q4_K_M/m-Q4_K_M-00001-of-00003.gguf\""' "listing order"
check 'grep -c "\"sha256\":\"[0-9a-f]\{64\}\"" "$T/out2" | grep -qx 4' "sha256 of LFS files in JSON"
for k in repo file revision commit path size sha256; do
    check 'grep -c "\"$k\":" "$T/out2" | grep -qx 4' "JSON key $k"
done
"$W" pull org/model config.json --json > "$T/out3" 2>/dev/null
check 'grep -q "\"sha256\":null" "$T/out3"' "sha256 null for a plain git file"

# one shard brings its set; a file name with a space
"$W" pull org/model Q4_K_M/m-Q4_K_M-00002-of-00003.gguf > "$T/out4" 2>/dev/null
check '[ $? -eq 0 ] && [ $(wc -l < "$T/out4") -eq 3 ]' "a shard brings the whole set"
"$W" pull org/model 'docs/read me.txt' > "$T/out5" 2>/dev/null
check 'cmp -s "$(cat "$T/out5")" "$T/root/org/model/docs/read me.txt"' "file name with a space"

# errors: exit 1, "wick: " on stderr, nothing on stdout
"$W" pull org/model 'nomatch*' > "$T/out6" 2> "$T/err6"
rc=$?
check '[ $rc -eq 1 ] && grep -q "nomatch\*" "$T/err6" && [ ! -s "$T/out6" ]' "a pattern matching nothing is an error naming it"
"$W" pull org/model missing.gguf > "$T/out7" 2> "$T/err7"
rc=$?
check '[ $rc -eq 1 ] && grep -q "^wick: .*missing.gguf" "$T/err7"' "missing file: exit 1, clear message"
"$W" pull org/absent x.gguf > /dev/null 2> "$T/err8"
check '[ $? -eq 1 ] && grep -q "not found" "$T/err8"' "missing repo: exit 1"
"$W" pull > /dev/null 2>&1
check '[ $? -eq 2 ]' "no REPO: usage error, exit 2"
"$W" pull --help > "$T/help" 2>&1
check '[ $? -eq 0 ] && grep -q "usage: wick pull" "$T/help"' "pull --help"

# the token never reaches the CDN, nor any output
check '! grep "/cdn/" "$T/req.log" | grep -q "auth=yes"' "no Authorization on CDN requests"
check '! cat "$T"/out* "$T"/err* | grep -q hf_cli_secret_token' "the token is never printed"

# A Python process holding the blob's lock (as huggingface_hub's filelock does: flock on
# .locks/models--ORG--NAME/ETAG.lock) makes wick wait for it, then use what it left.
if command -v python3 > /dev/null 2>&1; then
    rm -rf "$T/cache/models--org--model/blobs" "$T/cache/models--org--model/snapshots"
    ETAG=$(sed -n 's/.*"sha256":"\([0-9a-f]\{64\}\)".*"cached".*/\1/p' "$T/out2" | tail -1)
    python3 - "$T/cache/.locks/models--org--model/$ETAG.lock" > "$T/py.out" 2>&1 <<'PY' &
import fcntl, os, sys, time
p = sys.argv[1]
os.makedirs(os.path.dirname(p), exist_ok=True)
fd = os.open(p, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o664)
fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
print("locked", flush=True)
time.sleep(1.5)
os.unlink(p)
fcntl.flock(fd, fcntl.LOCK_UN)
os.close(fd)
print("released", time.monotonic(), flush=True)
PY
    PY=$!
    i=0
    while ! grep -q locked "$T/py.out" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    F=$(sed -n 's/.*"file":"\([^"]*\)".*/\1/p' "$T/out2" | tail -1)
    t0=$(date +%s%N)
    "$W" pull org/model "$F" > "$T/out12" 2> "$T/err12"
    rc=$?
    t1=$(date +%s%N)
    wait $PY
    check '[ $(( (t1 - t0) / 1000000 )) -ge 700 ]' "wick waited for the lock ($(( (t1 - t0) / 1000000 )) ms)"
    check '[ $rc -eq 0 ] && cmp -s "$(cat "$T/out12")" "$T/root/org/model/$F"' "waits for a lock held by Python (flock), then pulls"
    check 'grep -q released "$T/py.out"' "the Python holder released first"
fi

# ls
"$W" ls > "$T/ls1"
check '[ $? -eq 0 ] && grep -q "^org/model " "$T/ls1"' "ls lists the repo"
"$W" ls --json > "$T/ls2"
check 'grep -q "\"repo\":\"org/model\"" "$T/ls2" && grep -q "\"main\":\"[0-9a-f]\{40\}\"" "$T/ls2"' "ls --json: repo and refs"

# offline: the Hub is gone, the cache answers
kill $MH 2>/dev/null
wait $MH 2>/dev/null
HF_HUB_OFFLINE=1 "$W" pull org/model model-Q4_K_M.gguf > "$T/out9" 2> "$T/err9"
check '[ $? -eq 0 ] && [ "$(cat "$T/out9")" = "$P" ]' "offline pull finds the cached file"
HF_HUB_OFFLINE=1 "$W" pull org/model '*Q4_K_M.gguf' > "$T/out13" 2> "$T/err13"
check '[ $? -eq 0 ] && [ "$(cat "$T/out13")" = "$P" ]' "offline glob from the cached listing (trees/COMMIT.json)"
HF_HUB_OFFLINE=1 "$W" pull org/model 'Q4_K_M/*' > /dev/null 2> "$T/err14"
check '[ $? -eq 1 ] && grep -q "not in the cache" "$T/err14"' "offline glob: listed but uncached files fail clearly"
HF_HUB_OFFLINE=1 "$W" pull org/model never-pulled.gguf > /dev/null 2> "$T/err10"
check '[ $? -eq 1 ] && grep -q "offline" "$T/err10"' "offline and not cached: clear error"

# rm
"$W" rm org/model
check '[ $? -eq 0 ] && [ ! -e "$T/cache/models--org--model" ]' "rm removes the repo folder"
"$W" rm org/model 2> "$T/err11"
check '[ $? -eq 1 ] && grep -q "not in the cache" "$T/err11"' "rm of an absent repo: exit 1"

[ $fail -eq 0 ] && rm -rf "$T"
exit $fail
