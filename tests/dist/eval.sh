#!/bin/sh
# eval.sh — `mpirun -np N wick eval --dist pipeline` prints on rank 0 exactly what one process
# prints (every logit of every position as %.9g, so the same text is the same bits, and a greedy
# continuation), for 2 and 3 ranks on the deepseek2 and phi3 fixtures; bad --dist values.
set -u
W="$WICK_BIN"
D="$WICK_TEST_DATA"
T="$WICK_BUILD_DIR/tmp-dist-eval"
rm -rf "$T"
mkdir -p "$T" || exit 1
n_fail=0
n_check=0
check() {
    n_check=$((n_check + 1))
    if ! "$@"; then
        n_fail=$((n_fail + 1))
        echo "FAIL: $*" >&2
    fi
}
MPI="mpirun --oversubscribe --allow-run-as-root"
TOKENS=1,17,230,5,99,1000,3,42,7
for m in deepseek2-F32 phi3-F32 phi3-Q4_K_M; do
    "$W" eval --model "$D/models/$m.gguf" --tokens $TOKENS --top 0 --generate 5 --threads 2 \
        >"$T/$m.one" 2>"$T/$m.one.err"
    check test -s "$T/$m.one"
    for np in 2 3; do
        $MPI -np $np "$W" eval --model "$D/models/$m.gguf" --tokens $TOKENS --top 0 --generate 5 \
            --threads 1 --dist pipeline >"$T/$m.$np" 2>"$T/$m.$np.err"
        check cmp -s "$T/$m.one" "$T/$m.$np"
    done
done
"$W" eval --model "$D/models/phi3-F32.gguf" --tokens 1 --dist tensor >/dev/null 2>"$T/bad.err"
check test $? -eq 2
check grep -q "expected 'pipeline'" "$T/bad.err"
echo "dist eval: $n_check checks, $n_fail failed"
[ "$n_fail" -eq 0 ]
