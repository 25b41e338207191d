#!/bin/sh
# Installs the Debian packages wick needs to build and test, when any is missing.
# Usage: scripts/deps.sh        (uses sudo when not root)
set -eu

pkgs="cmake make gcc pkg-config libcurl4-openssl-dev libssl-dev libonig-dev libjansson-dev
libutf8proc-dev libmicrohttpd-dev libedit-dev xz-utils curl tmux libopenmpi-dev openmpi-bin"

# CC=clang (CI's second compiler, the fuzz build) needs clang; libFuzzer comes with it.
case "${CC:-}" in
clang*) pkgs="$pkgs clang" ;;
esac

missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
# node + npm run the server tests with the official openai client (tests/server); any install
# that provides both commands will do (Debian's packages otherwise).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    missing="$missing nodejs npm"
fi
[ -z "$missing" ] && exit 0

echo "wick: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
