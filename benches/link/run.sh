#!/usr/bin/env bash
# The link benchmark: both parties as real processes in two network
# namespaces joined by a veth pair whose rate `tc` limits (token bucket),
# with a userspace relay (benches/link/relay.rs) that adds the round-trip
# delay (this kernel has no netem) and counts bytes and round trips on the
# wire. Needs root (namespaces); traffic stays inside the namespaces made
# here, which are removed on exit, also on failure.
#
#   sudo [CONNECT=garbler] benches/link/run.sh [RATES] [DELAYS_MS] [RUNS]
#   e.g. benches/link/run.sh "10gbit 1gbit 100mbit" "0 20" 3
#
# CONNECT names the party that connects (default: the evaluator); the
# other listens. GARBLET_BIN runs another garblet binary (e.g. an older
# build, to compare). WORKLOADS picks the workloads (default "millionaires
# aes128"; also "deep": 1,563 chained AES-128, 10.0 M ANDs, written by
# circuits/examples/chained_aes.rs into the work directory as a binary
# circuit; "aes1000": 1,000 independent AES-128 encryptions under one key,
# 6.4 M ANDs and 128,000 evaluator input bits, written the same way with
# --batch; "inputs": 2^20 evaluator input bits XOR-folded, no AND gate,
# for bytes per input bit; "emp_deep": emp-toolkit on the chained AES as
# Bristol text, both parties its driver EMP_CHAINED, built as
# benches/emp/README.md says, the garbler listening).
#
# Prints one JSON line per run: workload, rate, delay, seconds (relay:
# first to last byte + half a round trip; connect_to_results: the same plus
# the round trip of TCP's handshake, which the relay does not delay;
# process: the connector's wall time), bytes each way,
# flights and round trips; with TIMELINE=1 also each flight's direction,
# start (seconds from the first byte) and bytes, as the relay saw them.
set -euo pipefail
RATES=${1:-"1gbit 100mbit"}
DELAYS=${2:-"0 20"}
RUNS=${3:-1}
CONNECT=${CONNECT:-evaluator}
WORKLOADS=${WORKLOADS:-"millionaires aes128"}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" --bin garblet --example link_relay
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" -p garblet-circuits --example chained_aes
# GARBLET_BIN runs another build of garblet (an older commit, to compare).
BIN=${GARBLET_BIN:-$ROOT/target/release/garblet}
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
trap cleanup EXIT
# Interrupted: stop here (the EXIT trap cleans up), rather than go on to
# the next run after the handler returns.
trap 'exit 130' INT
trap 'exit 143' TERM
cleanup 2>/dev/null || true   # a previous run killed before its trap
WORK=$(mktemp -d /tmp/garblet-link.XXXXXX)

ip netns add $G; ip netns add $E
ip link add gbl-vg netns $G type veth peer name gbl-ve netns $E
ip -n $G addr add 10.77.0.1/24 dev gbl-vg; ip -n $E addr add 10.77.0.2/24 dev gbl-ve
for ns in $G $E; do ip -n $ns link set lo up; done
ip -n $G link set gbl-vg up; ip -n $E link set gbl-ve up

case " $WORKLOADS " in *" deep "*)
  "$ROOT/target/release/examples/chained_aes" 1563 --no-text --binary "$WORK/deep.gbc" >/dev/null ;;
esac
case " $WORKLOADS " in *" emp_deep "*)
  # emp-toolkit on the same chained AES, as Bristol text (its reader).
  [ -x "${EMP_CHAINED:-}" ] || { echo "emp_deep needs EMP_CHAINED=the emp driver (benches/emp/README.md)" >&2; exit 2; }
  "$ROOT/target/release/examples/chained_aes" 1563 "$WORK/deep.txt" >/dev/null ;;
esac
case " $WORKLOADS " in *" aes1000 "*)
  "$ROOT/target/release/examples/chained_aes" 1000 --batch --no-text --binary "$WORK/aes1000.gbc" >/dev/null
  # 1,000 plaintext blocks as one hex value (bit k = wire k).
  python3 -c 'import random; random.seed(1); print("0x%032000x" % random.getrandbits(128000))' >"$WORK/aes1000.pt" ;;
esac
case " $WORKLOADS " in *" inputs "*)
  cat >"$WORK/inputs.gbl" <<'GBL'
fn main(#[garbler] g: bool, #[evaluator] x: [bool; 1048576]) -> bool {
    let mut p = g;
    for b in x { p = p ^ b; }
    p
}
GBL
  python3 -c 'import json; print(json.dumps([i % 3 == 0 for i in range(1 << 20)]))' >"$WORK/x.json" ;;
esac
"$BIN" keygen --out "$WORK/g" >/dev/null 2>&1
"$BIN" keygen --out "$WORK/e" >/dev/null 2>&1

shape() { # rate
  for pair in "$G gbl-vg" "$E gbl-ve"; do
    set -- $pair
    tc -n "$1" qdisc replace dev "$2" root tbf rate "$RATE" burst 1mbit latency 100ms
  done
}

wait_listening() { # namespace port pid who
  # The listener loads and plans before it listens (seconds for the deep
  # circuit): the relay and the connector start once it does, or once it
  # has exited (its error is printed after the run); 300 s at most.
  local waited=0
  until ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q . || ! kill -0 "$3" 2>/dev/null; do
    sleep 0.1; waited=$((waited + 1))
    [ $waited -lt 3000 ] || { echo "$4 never listened" >&2; break; }
  done
}

run_emp() { # name bristol-file and-gates
  # emp-toolkit's driver (benches/emp/chained.cpp): ALICE (the garbler)
  # listens, BOB connects through the relay; the evaluator's stats are the
  # circuit's AND count, for the same report as run_one.
  local name=$1 file=$2 ands=$3 port=7000 rport=7001
  ip netns exec $G "$EMP_CHAINED" 1 $port "$file" >"$WORK/g.emp" 2>&1 &
  local lpid=$!
  wait_listening $G $port $lpid "emp's ALICE"
  ip netns exec $E "$RELAY" 127.0.0.1:$rport 10.77.0.1:$port "$DELAY" "$WORK/relay.json" &
  local rpid=$!
  sleep 0.3
  local t0=$(date +%s.%N)
  ip netns exec $E "$EMP_CHAINED" 2 $rport "$file" 127.0.0.1 >"$WORK/e.emp" 2>&1 || cat "$WORK/e.emp" >&2
  local t1=$(date +%s.%N)
  wait $lpid || cat "$WORK/g.emp" >&2
  wait $rpid || true
  grep -h party "$WORK/g.emp" "$WORK/e.emp" >&2
  echo "{\"stats\": {\"and_gates\": $ands}}" >"$WORK/e.json"
  report "$name" "$t0" "$t1" evaluator
}

run_one() { # name program garbler-inputs evaluator-inputs
  local name=$1 prog=$2 gin=$3 ein=$4
  local port=7000 rport=7001
  # The listener in its namespace; the connector in the other, through the
  # relay (which adds the delay and counts the wire) on its loopback.
  local lrole=garbler lns=$G laddr=10.77.0.1 lid=g lin=$gin crole=evaluator cns=$E cid=e cin=$ein
  if [ "$CONNECT" = garbler ]; then
    lrole=evaluator lns=$E laddr=10.77.0.2 lid=e lin=$ein crole=garbler cns=$G cid=g cin=$gin
  fi
  local pid_of_peer=$([ "$lid" = g ] && echo e || echo g)
  ip netns exec $lns "$BIN" run "$prog" --as $lrole --listen $laddr:$port \
      --identity "$WORK/$lid" --peer "$WORK/$pid_of_peer/cert.pem" $lin --json --timeout 600 >"$WORK/$lid.json" 2>"$WORK/$lid.err" &
  local lpid=$!
  wait_listening $lns $port $lpid "the $lrole"
  ip netns exec $cns "$RELAY" 127.0.0.1:$rport $laddr:$port "$DELAY" "$WORK/relay.json" &
  local rpid=$!
  sleep 0.3
  local t0=$(date +%s.%N)
  ip netns exec $cns "$BIN" run "$prog" --as $crole --connect 127.0.0.1:$rport \
      --identity "$WORK/$cid" --peer "$WORK/$lid/cert.pem" $cin --json --timeout 600 >"$WORK/$cid.json" 2>"$WORK/$cid.err" || { cat "$WORK/$cid.err" >&2; }
  local t1=$(date +%s.%N)
  wait $lpid || cat "$WORK/$lid.err" >&2
  wait $rpid || true
  report "$name" "$t0" "$t1" "$crole"
}

report() { # name t0 t1 connector: one JSON line from the relay's counts
  local name=$1 t0=$2 t1=$3 crole=$4
  python3 - "$name" "$RATE" "$DELAY" "$t0" "$t1" "$WORK" "$crole" <<'PY'
import json, os, sys
name, rate, delay, t0, t1, work, connector = sys.argv[1:]
TIMELINE = os.environ.get("TIMELINE") == "1"
r = json.load(open(f"{work}/relay.json"))
e = json.load(open(f"{work}/e.json"))
stats = e.get("stats", {})
out = {"workload": name, "rate": rate, "rtt_ms": int(delay), "connector": connector,
       "relay_s": round(r["last_byte_s"] - r["first_byte_s"] + int(delay) / 2000, 4),
       # The relay cannot delay TCP's SYN and SYN-ACK (the kernel answers
       # them): on a real link the connect itself takes one more round trip.
       "connect_to_results_s": round(r["last_byte_s"] - r["first_byte_s"] + 3 * int(delay) / 2000, 4),
       "connector_wall_s": round(float(t1) - float(t0), 4),
       "and_gates": stats.get("and_gates"), "bytes_down": r["bytes_down"], "bytes_up": r["bytes_up"],
       "flights": r["flights"], "round_trips": r["round_trips"], "connections": r["connections"]}
if name == "inputs_2p20":
    out["bytes_per_input_bit"] = round((r["bytes_down"] + r["bytes_up"]) / (1 << 20), 3)
if stats.get("and_gates"):
    out["and_per_s"] = round(stats["and_gates"] / out["relay_s"])
if TIMELINE:
    out["timeline"] = r.get("timeline", [])
print(json.dumps(out))
PY
}

for RATE in $RATES; do
  shape
  for DELAY in $DELAYS; do
    for _ in $(seq "$RUNS"); do
      for W in $WORKLOADS; do
        case $W in
          millionaires) run_one millionaires_u64 "$ROOT/examples/millionaires.gbl" "-i alice=5000000" "-i bob=4200000" ;;
          aes128) run_one aes128 "$ROOT/circuits/bristol/aes_128.txt" \
            "-i in0=0x000102030405060708090a0b0c0d0e0f" "-i in1=0x00112233445566778899aabbccddeeff" ;;
          deep) run_one deep_chained_aes "$WORK/deep.gbc" \
            "-i key=0x000102030405060708090a0b0c0d0e0f" "-i plaintext=0x00112233445566778899aabbccddeeff" ;;
          aes1000) run_one aes128_x1000 "$WORK/aes1000.gbc" \
            "-i key=0x000102030405060708090a0b0c0d0e0f" "-i plaintexts=$(cat "$WORK/aes1000.pt")" ;;
          inputs) run_one inputs_2p20 "$WORK/inputs.gbl" "-i g=true" "-i x=@$WORK/x.json" ;;
          emp_deep) run_emp emp_deep_chained_aes "$WORK/deep.txt" 10003200 ;;
          *) echo "unknown workload $W" >&2; exit 2 ;;
        esac
      done
    done
  done
done
