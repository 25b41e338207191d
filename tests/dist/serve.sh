#!/bin/sh
# serve.sh — `mpirun -np 2 wick serve --dist expert`: rank 0 serves, rank 1 computes the experts;
# a greedy completion (and a streamed one) has the same text as from a one-process server; a
# SIGTERM to mpirun ends the job.
scratch=tmp-dist-serve
. "$(dirname "$0")/lib.sh"
M="$D/models/deepseek2-F32.gguf"
A="--model $M --host 127.0.0.1 --port 0 --threads 1 --ctx 256"
"$W" serve $A >"$T/one.out" 2>"$T/one.err" &
one=$!
mpirun --oversubscribe --allow-run-as-root -np 2 "$W" serve $A --dist expert >"$T/dist.out" \
    2>"$T/dist.err" &
dist=$!
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
check test -n "$p1"
check test -n "$p2"
ask() { # $1 port, $2 stream: the completion's text (all of its pieces)
    curl -s -m 60 "http://127.0.0.1:$1/v1/completions" -H 'Content-Type: application/json' \
        -d "{\"prompt\":\"Hello there\",\"max_tokens\":10,\"temperature\":0,\"stream\":$2}" |
        grep -o '"text":"[^"]*"' | tr -d '\n'
}
for stream in false true; do
    a=$(ask "$p1" $stream)
    b=$(ask "$p2" $stream)
    check test -n "$a"
    check test "$a" = "$b"
done
kill -TERM $one $dist
wait $one
wait $dist
check grep -q "stopping" "$T/dist.err"
echo "dist serve: $n_check checks, $n_fail failed"
[ "$n_fail" -eq 0 ]
