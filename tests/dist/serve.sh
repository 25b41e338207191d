#!/bin/sh
# serve.sh — `mpirun -np 2 wick serve --dist expert`: rank 0 serves, rank 1 computes the experts;
# a greedy completion (and a streamed one) has the same text as from a one-process server;
# `mpirun -np 3 wick serve --dist pipeline`: three concurrent greedy streams (batched passes, the
# prompts in micro-batches) have the texts a one-process server gives one at a time; a SIGTERM to
# mpirun ends the job.
scratch=tmp-dist-serve
. "$(dirname "$0")/lib.sh"
M="$D/models/deepseek2-F32.gguf"
A="--model $M --host 127.0.0.1 --port 0 --threads 1 --ctx 256"
"$W" serve $A >"$T/one.out" 2>"$T/one.err" &
one=$!
export WICK_DIST_TIMEOUT=10 # a wait for a rank gone at the SIGTERM ends soon
$MPI -x WICK_DIST_TIMEOUT -np 2 "$W" serve $A --dist expert >"$T/dist.out" 2>"$T/dist.err" &
dist=$!
# a 3-stage pipeline of phi3 Q4_K_M: prompts in micro-batches of 4 tokens, streams batched
Q="--model $D/models/phi3-Q4_K_M.gguf --host 127.0.0.1 --port 0 --threads 1 --ctx 256"
"$W" serve $Q >"$T/one3.out" 2>"$T/one3.err" &
one3=$!
WICK_DIST_MICRO=4 $MPI -x WICK_DIST_TIMEOUT -x WICK_DIST_MICRO -np 3 "$W" serve $Q --dist pipeline >"$T/pipe.out" \
    2>"$T/pipe.err" &
pipe=$!
port() { # the port of the "listening on" line of $1, waiting up to 30 s
    i=0
    while [ $i -lt 300 ] && ! grep -q "^listening on" "$1" 2>/dev/null; do
        sleep 0.1
        i=$((i + 1))
    done
    sed -n 's/^listening on http:.*:\([0-9]*\)$/\1/p' "$1"
}
p1=$(port "$T/one.out")
p2=$(port "$T/dist.out")
p3=$(port "$T/one3.out")
p4=$(port "$T/pipe.out")
check test -n "$p1"
check test -n "$p2"
check test -n "$p3"
check test -n "$p4"
ask() { # $1 port, $2 stream, $3 prompt, $4 tokens: the completion's text (all of its pieces)
    curl -s -m 60 "http://127.0.0.1:$1/v1/completions" -H 'Content-Type: application/json' \
        -d "{\"prompt\":\"$3\",\"max_tokens\":$4,\"temperature\":0,\"stream\":$2}" |
        grep -o '"text":"[^"]*"' | tr -d '\n'
}
for stream in false true; do
    a=$(ask "$p1" $stream "Hello there" 10)
    b=$(ask "$p2" $stream "Hello there" 10)
    check test -n "$a"
    check test "$a" = "$b"
done
# three streams at once through the pipeline (one batched pass per step) against one at a time
set -- "The quick brown fox jumps over the lazy dog" "Once upon a time" "1, 2, 3, 4, 5, 6, 7, 8"
i=0
asks=
for p in "$@"; do
    i=$((i + 1))
    ask "$p3" true "$p" 24 >"$T/one3.$i"
    ask "$p4" true "$p" 24 >"$T/pipe.$i" &
    asks="$asks $!"
done
wait $asks
for i in 1 2 3; do
    check test -s "$T/one3.$i"
    check cmp -s "$T/one3.$i" "$T/pipe.$i"
done
kill -TERM $one $one3
wait $one
wait $one3
# a SIGTERM to rank 0 ends each job within 20 s: it stops serving and tells the workers to leave.
# (Not to mpirun: it passes the signal to every rank, and Open MPI 4.1's mpirun then sometimes
# hangs in PMIx_server_finalize after every rank has ended.)
for job in $dist $pipe; do
    t0=$(date +%s)
    for p in $(pgrep -P $job); do
        if { tr '\0' '\n' <"/proc/$p/environ"; } 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=0; then
            kill -TERM $p
        fi
    done
    wait $job
    check test $? -eq 0
    check test $(($(date +%s) - t0)) -le 20
done
echo "dist serve: $n_check checks, $n_fail failed"
[ "$n_fail" -eq 0 ]
