#!/bin/sh
# eval.sh — `mpirun -np N wick eval --dist pipeline|expert|auto` prints on rank 0 exactly what one
# process prints (every logit of every position as %.9g, so the same text is the same bits, and a
# greedy continuation), for 2 and 3 ranks on the deepseek2 and phi3 fixtures; bad --dist values;
# a worker rank that stops answering or is killed: rank 0 names it within the deadline.
scratch=tmp-dist-eval
. "$(dirname "$0")/lib.sh"
TOKENS=1,17,230,5,99,1000,3,42,7
# model:mode:ranks
for run in deepseek2-F32:pipeline:2 deepseek2-F32:pipeline:3 phi3-F32:pipeline:2 \
    phi3-F32:pipeline:3 phi3-Q4_K_M:pipeline:2 phi3-Q4_K_M:pipeline:3 deepseek2-F32:expert:2 \
    deepseek2-F32:expert:3 deepseek2-Q4_K_M:auto:3 phi3-F32:auto:2; do
    m=${run%%:*}
    mode=${run#*:}
    np=${mode#*:}
    mode=${mode%:*}
    if [ ! -s "$T/$m.one" ]; then
        "$W" eval --model "$D/models/$m.gguf" --tokens $TOKENS --top 0 --generate 5 --threads 2 \
            >"$T/$m.one" 2>"$T/$m.one.err"
        check test -s "$T/$m.one"
    fi
    $MPI -np $np "$W" eval --model "$D/models/$m.gguf" --tokens $TOKENS --top 0 --generate 5 \
        --threads 1 --dist $mode >"$T/$m.$mode.$np" 2>"$T/$m.$mode.$np.err"
    check cmp -s "$T/$m.one" "$T/$m.$mode.$np"
done
# Each rank repacks the weights of its own layers (and rank 0 the output): over 3 ranks, every
# tensor one process repacks is repacked once (the debug log counts them; none on the scalar path)
WICK_LOG=debug "$W" eval --model "$D/models/phi3-Q4_K_M.gguf" --tokens $TOKENS --top 1 --threads 1 \
    >/dev/null 2>"$T/rp.one"
WICK_LOG=debug $MPI -x WICK_LOG -np 3 "$W" eval --model "$D/models/phi3-Q4_K_M.gguf" \
    --tokens $TOKENS --top 1 --threads 1 --dist pipeline >/dev/null 2>"$T/rp.3"
one=$(sed -n 's/.*repacked \([0-9]*\) tensors.*/\1/p' "$T/rp.one")
sum=$(sed -n 's/.*repacked \([0-9]*\) tensors.*/\1/p' "$T/rp.3" | awk '{s += $1} END {print s + 0}')
check test "$sum" = "${one:-0}"
[ -n "$one" ] && check test "$(grep -c 'repacked' "$T/rp.3")" -eq 3
"$W" eval --model "$D/models/phi3-F32.gguf" --tokens 1 --dist tensor >/dev/null 2>"$T/bad.err"
check test $? -eq 2
check grep -q "expected 'pipeline', 'expert' or 'auto'" "$T/bad.err"

# A worker that stops answering after 3 requests (test hook), expert and pipeline: rank 0 names
# it (in the pipeline, by pinging the workers) within the deadline, the job ends within 10 s.
for mode in expert pipeline; do
    t0=$(date +%s)
    WICK_DIST_TIMEOUT=2 WICK_DIST_TEST_HANG=3 timeout 60 $MPI -x WICK_DIST_TIMEOUT \
        -x WICK_DIST_TEST_HANG -np 3 "$W" eval --model "$D/models/deepseek2-F32.gguf" \
        --tokens $TOKENS --generate 20 --threads 1 --dist $mode >/dev/null 2>"$T/hang.$mode.err"
    check test $? -ne 0
    check test $(($(date +%s) - t0)) -le 10
    check grep -q "rank 1 did not answer rank 0 within 2 s" "$T/hang.$mode.err"
done
# Rank 1 of a 3-stage pipeline killed (-9) mid-generation; with recovery on (--enable-recovery,
# as --mca orte_enable_recovery 1), mpirun leaves rank 0 alive to report; rank 0 waits on rank 2,
# and its pings find rank 1 gone.
WICK_DIST_TIMEOUT=2 timeout 60 $MPI --enable-recovery -x WICK_DIST_TIMEOUT -np 3 \
    "$W" eval --model "$D/models/deepseek2-F32.gguf" --tokens 1 --generate 4000 --ctx 4096 \
    --top 0 --threads 1 --dist pipeline >"$T/kill.out" 2>"$T/kill.err" &
job=$!
worker=
i=0
while [ $i -lt 100 ] && [ -z "$worker" ]; do # rank 1 of this job: a wick with rank 1 in its env
    sleep 0.1
    i=$((i + 1))
    for p in $(pgrep -x wick); do
        if { tr '\0' '\n' <"/proc/$p/environ"; } 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=1 &&
            { tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null | grep -q "generate 4000 --ctx 4096"; then
            worker=$p
        fi
    done
done
check test -n "$worker"
sleep 1
t0=$(date +%s)
[ -n "$worker" ] && kill -9 "$worker"
wait $job
check test $(($(date +%s) - t0)) -le 10
check grep -q "rank 1 did not answer rank 0 within 2 s" "$T/kill.err"
echo "dist eval: $n_check checks, $n_fail failed"
[ "$n_fail" -eq 0 ]
