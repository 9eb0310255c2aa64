#!/usr/bin/env bash
# Planning a large binary circuit, measured from outside the process: the
# time from starting `garblet run` as the garbler until it prints that it
# waits for the peer (it reads, checks, hashes and plans the whole file
# before it listens), its CPU time and its peak RSS at that point.
#
#   benches/plan/run.sh [RUNS] [FILE]   (INPUT=NAME: the garbler's 128-bit input, default key)
#
# FILE defaults to the deep circuit of issue 15 (1,563 chained AES-128,
# 57.3 M gates), written as a binary file by the `chained_aes` example on
# first use. GARBLET_BIN picks the binary (default: target/release/garblet,
# built if missing). The script waits on the process's own line instead of
# polling the socket, so that the measurement takes no CPU from the two
# cores the planner uses.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-5}
FILE=${2:-${TMPDIR:-/tmp}/garblet-chained-aes-1563.gbc}
BIN=${GARBLET_BIN:-target/release/garblet}
[ -x "$BIN" ] || cargo build --release --quiet
if [ ! -s "$FILE" ]; then
    cargo run --release --quiet -p garblet-circuits --example chained_aes -- 1563 --no-text --binary "$FILE"
fi
GATES=$("$BIN" stats "$FILE" --json | sed -n 's/.*"gates": *\([0-9]*\).*/\1/p' | head -1)
# The garbler's input (a 128-bit one; the run never starts): INPUT=NAME for
# another file.
INPUT=${INPUT:-key}
PORT=${PORT:-7499}
echo "file $FILE, $GATES gates"
FIFO=$(mktemp -u "${TMPDIR:-/tmp}/garblet-plan-XXXXXX")
mkfifo "$FIFO"
pid=
trap 'rm -f "$FIFO"; [ -n "$pid" ] && kill "$pid" 2>/dev/null || true' EXIT
tick=$(getconf CLK_TCK)
for _ in $(seq "$RUNS"); do
    start=$(date +%s%N)
    "$BIN" run "$FILE" --as garbler --listen "127.0.0.1:$PORT" --insecure \
        -i "$INPUT=0x000102030405060708090a0b0c0d0e0f" --timeout 600 2>"$FIFO" >/dev/null &
    pid=$!
    # Open until the process has gone: its last words need a reader.
    exec 3<"$FIFO"
    while IFS= read -r line <&3; do
        case $line in "waiting for the peer"*) break ;; error*) echo "$line" >&2; exit 1 ;; esac
    done
    end=$(date +%s%N)
    read -r -a stat < <(sed 's/.*) //' "/proc/$pid/stat")
    hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
    exec 3<&-
    awk -v s="$start" -v e="$end" -v u="${stat[11]}" -v y="${stat[12]}" -v t="$tick" -v g="$GATES" -v h="$hwm" \
        'BEGIN { w = (e - s) / 1e9; printf "plan %.3f s  %.1f M gates/s  user %.2f s  sys %.2f s  peak RSS %d MiB\n", w, g / w / 1e6, u / t, y / t, h / 1024 }'
done
