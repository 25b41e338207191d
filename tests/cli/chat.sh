#!/bin/sh
# chat.sh — `wick chat` driven in a pseudo-terminal (tmux) as a person would: two turns (the
# second reuses the first's KV cache), /reset (the prompt is the first turn's again),
# Ctrl-C during an endless answer (the answer stops, the prompt comes back), Ctrl-C at the prompt,
# /bye. Also the same conversation through a pipe.
set -u
W="$WICK_BIN"
D="$WICK_TEST_DATA"
T="$WICK_BUILD_DIR/tmp-cli-chat"
M="$D/models/phi3-F32.gguf"
fail=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fail=1; }

rm -rf "$T"
mkdir -p "$T"

# --- through a pipe: two turns, a command, the end of input ends the chat (status 0)
printf 'hello\n/think off\nhow are you\n' |
    "$W" chat "$M" --max-tokens 4 --temperature 0 --timings >"$T/pipe.out" 2>"$T/pipe.err"
rc=$?
[ $rc -eq 0 ] && ok "piped chat exits 0" || bad "piped chat exit status $rc"
grep -q '^\[thinking off\]$' "$T/pipe.out" && ok "/think off" || bad "/think off: $(cat "$T/pipe.out")"
n=$(grep -c '^wick: prefill' "$T/pipe.err")
[ "$n" = 2 ] && ok "two turns" || bad "two turns: $n timing lines"
cached=$(sed -n '2s/.* \([0-9]*\) prompt tokens cached$/\1/p' "$T/pipe.err")
[ "${cached:-0}" -gt 0 ] && ok "turn 2 reuses $cached cached tokens" || bad "turn 2 cached: '$cached'"

# --- in a terminal
if ! command -v tmux >/dev/null 2>&1; then
    echo "FAIL: tmux is needed (scripts/deps.sh installs it)"
    exit 1
fi
S="wick-chat-test-$$"
SOCK="$T/tmux.sock"
tm() { tmux -S "$SOCK" "$@"; }
trap 'tm kill-server 2>/dev/null' EXIT INT TERM
screen() { tm capture-pane -p -J -S -200 -t "$S" 2>/dev/null; }
# waits until the screen matches the grep pattern $1 (up to $2 tenths of a second)
wait_for() {
    i=0
    while [ $i -lt "$2" ]; do
        if screen | grep -q -e "$1"; then return 0; fi
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}
# waits until file $1 holds $2 timing lines (an answer ended)
wait_turns() {
    i=0
    while [ "$(grep -c '^wick: prefill' "$1")" -lt "$2" ] && [ $i -lt 300 ]; do
        sleep 0.1
        i=$((i + 1))
    done
}

tm -f /dev/null new-session -d -s "$S" -x 160 -y 50 \
    "'$W' chat '$M' --system 'You are terse.' --max-tokens 6 --temperature 0 --timings \
     2>'$T/tty.err'; echo CHAT-EXITED \$?; sleep 60"
wait_for '^>>> $' 100 && ok "first prompt" || bad "no prompt: $(screen)"

tm send-keys -t "$S" "hello there" Enter
wait_turns "$T/tty.err" 1
tm send-keys -t "$S" "and again" Enter
wait_turns "$T/tty.err" 2
# turn N's prompt tokens: those computed, those cached
computed() { grep '^wick: prefill' "$T/tty.err" | sed -n "$1s/^wick: prefill \([0-9]*\) tokens.*/\1/p"; }
cached() { grep '^wick: prefill' "$T/tty.err" | sed -n "$1s/.* \([0-9]*\) prompt tokens cached$/\1/p"; }
c1=$(cached 1)
c2=$(cached 2)
[ "${c2:-0}" -gt "${c1:-0}" ] && ok "two turns: turn 2 reuses $c2 cached tokens" ||
    bad "two turns: cached '$c1' then '$c2'"

tm send-keys -t "$S" "/reset" Enter
wait_for '^\[conversation reset\]' 50 && ok "/reset" || bad "/reset: $(screen)"
tm send-keys -t "$S" "hello there" Enter
wait_turns "$T/tty.err" 3
p1=$(($(computed 1) + $(cached 1)))
p3=$(($(computed 3) + $(cached 3)))
[ "$p3" = "$p1" ] && ok "after /reset the prompt is turn 1's again ($p3 tokens, $(cached 3) cached)" ||
    bad "after /reset: $p3 prompt tokens, turn 1 had $p1"
tm send-keys -t "$S" "/bye" Enter
wait_for '^CHAT-EXITED 0' 50 && ok "/bye ends the chat (status 0)" || bad "/bye: $(screen)"
S="$S-2" # a second session on the same server (killing the only one stops the server)
# Ctrl-C during an answer that would not end by itself (the whole context, EOS ignored)
tm new-session -d -s "$S" -x 160 -y 50 \
    "'$W' chat '$M' --ignore-eos --ctx 8192 --temperature 0 2>'$T/tty2.err'; echo CHAT-EXITED \$?; sleep 60"
wait_for '^>>> $' 100 || bad "no prompt (2)"
tm send-keys -t "$S" "tell me everything" Enter
sleep 1
t0=$(date +%s.%N)
tm send-keys -t "$S" C-c
if wait_for '\[cancelled\]' 50 && wait_for '^>>> $' 20; then
    t1=$(date +%s.%N)
    ok "Ctrl-C stops the answer, the prompt comes back ($(awk "BEGIN{printf \"%.2f\", $t1 - $t0}") s)"
else
    bad "Ctrl-C during an answer: $(screen | tail -n 5)"
fi
# Ctrl-C at the prompt drops the line, the chat goes on
tm send-keys -t "$S" "half a line" C-c
sleep 0.3
tm send-keys -t "$S" "/think on" Enter
wait_for '^\[thinking on\]' 50 && ok "Ctrl-C at the prompt: the chat goes on" || bad "after Ctrl-C at the prompt: $(screen | tail -n 5)"
screen | grep -q 'CHAT-EXITED' && bad "the chat ended on Ctrl-C"
tm send-keys -t "$S" C-d
wait_for '^CHAT-EXITED 0' 50 && ok "Ctrl-D ends the chat (status 0)" || bad "Ctrl-D: $(screen | tail -n 3)"

exit $fail
