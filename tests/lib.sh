# lib.sh — what the shell tests share; each sets scratch (its scratch directory's name) and
# sources it:  scratch=tmp-NAME; . "$(dirname "$0")/../lib.sh"
# Sets W (wick), D (test data), T (a fresh scratch directory under the build), n_check and
# n_fail; ok counts a passed check, bad MESSAGE a failed one (reported on stderr), expect WHAT
# WANT GOT compares two strings. Each script ends with its summary and [ "$n_fail" = 0 ].
set -u
W="$WICK_BIN"
D="$WICK_TEST_DATA"
T="$WICK_BUILD_DIR/$scratch"
rm -rf "$T"
mkdir -p "$T" || exit 1
n_fail=0
n_check=0
ok() { n_check=$((n_check + 1)); }
bad() {
    n_check=$((n_check + 1))
    n_fail=$((n_fail + 1))
    echo "FAIL: $*" >&2
}
expect() {
    if [ "$2" = "$3" ]; then ok; else bad "$1: expected '$2', got '$3'"; fi
}
