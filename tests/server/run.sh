#!/bin/sh
# run.sh SCRIPT.js — runs one of the server tests under node with the official openai client,
# installed by `npm ci` from this folder's lockfile into the build tree (once per lockfile; the
# tests that run at the same time share it under a lock).
# Exit 77 (skipped) only when node or npm is not installed; scripts/deps.sh installs them.
set -u
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "SKIP: node/npm not installed (scripts/deps.sh installs them)"
    exit 77
fi
mods="$WICK_BUILD_DIR/node-server"
mkdir -p "$mods"
install() {
    if cmp -s "$here/package-lock.json" "$mods/package-lock.json" && [ -f "$mods/node_modules/openai/package.json" ]; then
        return 0
    fi
    cp "$here/package.json" "$here/package-lock.json" "$mods/"
    if ! (cd "$mods" && npm ci --no-audit --no-fund --loglevel=error > npm.log 2>&1); then
        cat "$mods/npm.log"
        rm -f "$mods/package-lock.json"
        return 1
    fi
}
exec 9> "$mods/.lock"
flock 9
if ! install; then
    echo "FAIL: npm ci (tests/server/package-lock.json)"
    exit 1
fi
flock -u 9
NODE_PATH="$mods/node_modules" exec node "$here/$1"
