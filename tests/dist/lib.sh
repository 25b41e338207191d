# lib.sh — what the dist shell tests share; each sets scratch (its directory's name), then sources it:
#   scratch=tmp-dist-NAME; . "$(dirname "$0")/lib.sh"
# Sets W (wick), D (test data), T (a fresh scratch directory under the build), MPI (mpirun as
# the tests start it: loopback ranks, oversubscribed, root allowed), n_check and n_fail, and
# check CMD...: runs CMD, counts it, and reports it when it fails.
set -u
W="$WICK_BIN"
D="$WICK_TEST_DATA"
T="$WICK_BUILD_DIR/$scratch"
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
