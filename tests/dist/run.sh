#!/bin/sh
# run.sh — `mpirun -np N wick run --dist MODE` generates on rank 0 the same greedy ids as one
# process (the other ranks only compute), for 2 and 3 ranks on the deepseek2 and phi3 fixtures;
# --no-repack holds on every rank; a worker that stops answering ends the stream with an error
# chunk naming it, within the deadline.
scratch=tmp-dist-run
. "$(dirname "$0")/lib.sh"
ARGS="--tokens 1,17,230,5,99 --temperature 0 --max-tokens 12 --threads 1 --json"
ids() { grep '"type":"done"' "$1" | sed 's/.*"ids"://'; }
# model:mode:ranks
for run in deepseek2-F32:expert:2 deepseek2-F32:pipeline:3 deepseek2-F32:auto:3 phi3-F32:auto:2; do
    m=${run%%:*}
    mode=${run#*:}
    np=${mode#*:}
    mode=${mode%:*}
    if [ ! -s "$T/$m.one" ]; then
        "$W" run "$D/models/$m.gguf" $ARGS >"$T/$m.one" 2>"$T/$m.one.err"
        check grep -q '"finish_reason":"length"' "$T/$m.one"
    fi
    $MPI -np $np "$W" run "$D/models/$m.gguf" $ARGS --dist $mode >"$T/$m.$mode.$np" \
        2>"$T/$m.$mode.$np.err"
    check test $? -eq 0
    check test "$(ids "$T/$m.one")" = "$(ids "$T/$m.$mode.$np")"
    check test -n "$(ids "$T/$m.one")"
done
# without recovery a dying rank ends the whole job: the front says how to have it named instead
check grep -q "start mpirun with --enable-recovery" "$T/phi3-F32.auto.2.err"
$MPI --enable-recovery -np 2 "$W" run "$D/models/phi3-F32.gguf" $ARGS --dist pipeline \
    >"$T/rec.out" 2>"$T/rec.err"
check test "$(ids "$T/phi3-F32.one")" = "$(ids "$T/rec.out")"
check test "$(grep -c "enable-recovery" "$T/rec.err")" -eq 0
# --no-repack reaches the workers, which open the model themselves: no rank repacks, same ids
WICK_LOG=debug $MPI -x WICK_LOG -np 2 "$W" run "$D/models/phi3-Q4_K_M.gguf" $ARGS --dist pipeline \
    >"$T/rp.on" 2>"$T/rp.on.err"
WICK_LOG=debug $MPI -x WICK_LOG -np 2 "$W" run "$D/models/phi3-Q4_K_M.gguf" $ARGS --dist pipeline \
    --no-repack >"$T/rp.off" 2>"$T/rp.off.err"
check test -n "$(ids "$T/rp.on")"
check test "$(ids "$T/rp.on")" = "$(ids "$T/rp.off")"
check test "$(grep -c 'repacked' "$T/rp.off.err")" -eq 0
[ "${WICK_CPU:-}" = scalar ] || check test "$(grep -c 'repacked' "$T/rp.on.err")" -eq 2
# a malformed setting is named in a warning and its default used
WICK_DIST_MICRO=8x WICK_DIST_TIMEOUT=-1 $MPI -x WICK_DIST_MICRO -x WICK_DIST_TIMEOUT -np 2 "$W" run \
    "$D/models/phi3-F32.gguf" $ARGS --dist pipeline >"$T/env.out" 2>"$T/env.err"
check test "$(ids "$T/phi3-F32.one")" = "$(ids "$T/env.out")"
check grep -q "WICK_DIST_MICRO='8x': expected a whole number" "$T/env.err"
check grep -q "WICK_DIST_TIMEOUT='-1': expected seconds > 0; using 120" "$T/env.err"
"$W" run "$D/models/phi3-F32.gguf" $ARGS --dist tensor >/dev/null 2>"$T/bad.err"
check test $? -eq 2
check grep -q "expected 'pipeline', 'expert' or 'auto'" "$T/bad.err"
# rank 1 stops answering after 5 requests: an error chunk names it, the job ends (status 1)
t0=$(date +%s)
WICK_DIST_TIMEOUT=2 WICK_DIST_TEST_HANG=5 timeout 60 $MPI -x WICK_DIST_TIMEOUT \
    -x WICK_DIST_TEST_HANG -np 3 "$W" run "$D/models/deepseek2-F32.gguf" $ARGS --dist expert \
    >"$T/hang.out" 2>"$T/hang.err"
check test $? -ne 0
check test $(($(date +%s) - t0)) -le 10
check grep -q '"type":"error".*rank 1 did not answer rank 0 within 2 s' "$T/hang.out"
check grep -q '"finish_reason":"error"' "$T/hang.out"
echo "dist run: $n_check checks, $n_fail failed"
[ "$n_fail" -eq 0 ]
