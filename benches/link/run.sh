#!/usr/bin/env bash
# The link benchmark: both parties as real processes in two network
# namespaces joined by a veth pair whose rate `tc` limits (token bucket),
# with a userspace relay (benches/link/relay.rs) that adds the round-trip
# delay (this kernel has no netem) and counts bytes and round trips on the
# wire. Needs root (namespaces); traffic stays inside the namespaces made
# here, which are removed on exit, also on failure.
#
#   sudo benches/link/run.sh [RATES] [DELAYS_MS] [RUNS]
#   e.g. benches/link/run.sh "10gbit 1gbit 100mbit" "0 20" 3
#
# Prints one JSON line per run: workload, rate, delay, seconds (relay:
# first to last byte; process: evaluator's wall time), bytes each way,
# flights and round trips.
set -euo pipefail
RATES=${1:-"1gbit 100mbit"}
DELAYS=${2:-"0 20"}
RUNS=${3:-1}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" --bin garblet --example link_relay
BIN=$ROOT/target/release/garblet
RELAY=$ROOT/target/release/examples/link_relay
G=gbl-link-g; E=gbl-link-e
WORK=""

cleanup() {
  ip netns pids $G 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip netns pids $E 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip netns del $G 2>/dev/null || true
  ip netns del $E 2>/dev/null || true
  [ -n "$WORK" ] && rm -rf "$WORK"
  return 0
}
trap cleanup EXIT INT TERM
cleanup 2>/dev/null || true   # a previous run killed before its trap
WORK=$(mktemp -d /tmp/garblet-link.XXXXXX)

ip netns add $G; ip netns add $E
ip link add gbl-vg netns $G type veth peer name gbl-ve netns $E
ip -n $G addr add 10.77.0.1/24 dev gbl-vg; ip -n $E addr add 10.77.0.2/24 dev gbl-ve
for ns in $G $E; do ip -n $ns link set lo up; done
ip -n $G link set gbl-vg up; ip -n $E link set gbl-ve up

"$BIN" keygen --out "$WORK/g" >/dev/null 2>&1
"$BIN" keygen --out "$WORK/e" >/dev/null 2>&1

shape() { # rate
  for pair in "$G gbl-vg" "$E gbl-ve"; do
    set -- $pair
    tc -n "$1" qdisc replace dev "$2" root tbf rate "$RATE" burst 1mbit latency 100ms
  done
}

run_one() { # name program garbler-inputs evaluator-inputs
  local name=$1 prog=$2 gin=$3 ein=$4
  local port=7000 rport=7001
  ip netns exec $G "$BIN" run "$prog" --as garbler --listen 10.77.0.1:$port \
      --identity "$WORK/g" --peer "$WORK/e/cert.pem" $gin --json --timeout 600 >"$WORK/g.json" 2>"$WORK/g.err" &
  local gpid=$!
  ip netns exec $E "$RELAY" 127.0.0.1:$rport 10.77.0.1:$port "$DELAY" "$WORK/relay.json" &
  local rpid=$!
  sleep 0.3
  local t0=$(date +%s.%N)
  ip netns exec $E "$BIN" run "$prog" --as evaluator --connect 127.0.0.1:$rport \
      --identity "$WORK/e" --peer "$WORK/g/cert.pem" $ein --json --timeout 600 >"$WORK/e.json" 2>"$WORK/e.err" || { cat "$WORK/e.err" >&2; }
  local t1=$(date +%s.%N)
  wait $gpid || cat "$WORK/g.err" >&2
  wait $rpid || true
  python3 - "$name" "$RATE" "$DELAY" "$t0" "$t1" "$WORK" <<'PY'
import json, sys
name, rate, delay, t0, t1, work = sys.argv[1:]
r = json.load(open(f"{work}/relay.json"))
e = json.load(open(f"{work}/e.json"))
stats = e.get("stats", {})
out = {"workload": name, "rate": rate, "rtt_ms": int(delay),
       "relay_s": round(r["last_byte_s"] - r["first_byte_s"] + int(delay) / 2000, 4),
       "evaluator_wall_s": round(float(t1) - float(t0), 4),
       "and_gates": stats.get("and_gates"), "bytes_down": r["bytes_down"], "bytes_up": r["bytes_up"],
       "flights": r["flights"], "round_trips": r["round_trips"], "connections": r["connections"]}
if stats.get("and_gates"):
    out["and_per_s"] = round(stats["and_gates"] / out["relay_s"])
print(json.dumps(out))
PY
}

for RATE in $RATES; do
  shape
  for DELAY in $DELAYS; do
    for _ in $(seq "$RUNS"); do
      run_one millionaires_u64 "$ROOT/examples/millionaires.gbl" "-i alice=5000000" "-i bob=4200000"
      run_one aes128 "$ROOT/circuits/bristol/aes_128.txt" \
        "-i in0=0x000102030405060708090a0b0c0d0e0f" "-i in1=0x00112233445566778899aabbccddeeff"
    done
  done
done
