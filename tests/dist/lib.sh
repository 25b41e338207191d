# lib.sh — what the dist shell tests share; each sets scratch (its directory's name), then sources it:
#   scratch=tmp-dist-NAME; . "$(dirname "$0")/lib.sh"
# tests/lib.sh's set-up (W, D, T, ok, bad, expect), plus MPI (mpirun as the tests start it:
# loopback ranks, oversubscribed, root allowed) and check CMD...: runs CMD, counts it, and
# reports it when it fails.
. "$(dirname "$0")/../lib.sh"
check() {
    if "$@"; then ok; else bad "$*"; fi
}
MPI="mpirun --oversubscribe --allow-run-as-root"
