#!/usr/bin/env bash
# Hot update under traffic: two models with opposite verdicts are swapped back
# and forth many times while flows end continuously. Every event's logits must
# equal exactly one of the two models' reference logits for that event's
# features (never a mix), both models must have been seen, and no connection
# of the client fails. A mismatched model is refused and changes nothing.
source "$(dirname "$0")/lib.bash"
setup_net
"$NNBPF" compile "$NNBPF_FIXTURES_DIR/port_gate.onnx" -o "$WORK/a" --scale-bits 16 > /dev/null
"$NNBPF" compile "$NNBPF_FIXTURES_DIR/port_gate_inv.onnx" -o "$WORK/b" --scale-bits 16 > /dev/null
"$NNBPF" compile "$NNBPF_FIXTURES_DIR/mlp_6_32_32_2.onnx" -o "$WORK/other" > /dev/null
start_servers 8000,9999 120
# The client is allowlisted so intrusion verdicts never block it: the test
# is about the swap, and every packet must get through.
start_nnbpf "$WORK/a" --allow "$IP_C/32"

in_c $PY "$TRAFFIC" connect "$IP_V" 8000 --count 400 --gap 0.004 --src "$IP_C" > "$WORK/c1.txt" &
C1=$!; PIDS+=($C1)
in_c $PY "$TRAFFIC" connect "$IP_V" 9999 --count 400 --gap 0.004 --src "$IP_C" > "$WORK/c2.txt" &
C2=$!; PIDS+=($C2)
# Swap for as long as the clients run (paced to >= 1.6 s each), at most 60 times.
swaps=0
for i in $(seq 1 30); do
  kill -0 "$C1" 2>/dev/null || kill -0 "$C2" 2>/dev/null || break
  vnnbpf update "$WORK/b" --iface "$IF_V" > /dev/null || fail "update to b failed"
  sleep 0.05
  vnnbpf update "$WORK/a" --iface "$IF_V" > /dev/null || fail "update to a failed"
  sleep 0.05
  swaps=$((swaps + 2))
done
wait "$C1" "$C2"
[[ $swaps -ge 4 ]] || fail "traffic ended after only $swaps swaps: the test proves nothing"
cat "$WORK/c1.txt" "$WORK/c2.txt"
grep -qx "ok=400 fail=0" "$WORK/c1.txt" || fail "benign connections lost during swaps"
grep -qx "ok=400 fail=0" "$WORK/c2.txt" || fail "connections lost during swaps"
sleep 0.5
gen0=$(stat_of param_generation)

# A mismatched model is refused, and nothing changes.
if vnnbpf update "$WORK/other" --iface "$IF_V" 2> "$WORK/mismatch.err"; then fail "mismatched update accepted"; fi
cat "$WORK/mismatch.err"
grep -q "update refused" "$WORK/mismatch.err" || fail "unclear mismatch error"
[[ $(stat_of param_generation) == "$gen0" ]] || fail "a refused update changed the running parameters"
out=$(vnnbpf update "$NNBPF_FIXTURES_DIR/bad_nan_weight.onnx" --iface "$IF_V" 2>&1) && fail "bad model accepted"
echo "$out" | grep -q "NaN" || fail "unclear bad-model error: $out"
stop_nnbpf

# Never a mix: each event's logits are model a's or model b's, recomputed by
# the reference interpreter from the event's own features.
$PY - "$WORK" <<'PY'
import csv, json, sys
work = sys.argv[1]
feats = ["fwd_pkt_len_max", "fwd_iat_max_ns", "fwd_pkt_len_min", "dst_port", "fwd_header_len", "fwd_pkt_count"]
ev = [json.loads(l) for l in open(f"{work}/events.jsonl")]
ev = [e for e in ev if e["event"] == "verdict"]
with open(f"{work}/ev.csv", "w", newline="") as f:
    w = csv.writer(f); w.writerow(feats)
    for e in ev: w.writerow([e["features"][k] for k in feats])
json.dump([[e["verdict"]] + e["logits"] for e in ev], open(f"{work}/ev.json", "w"))
print(len(ev), "verdict events")
PY
"$NNBPF" infer "$WORK/a" --input "$WORK/ev.csv" --engine reference > "$WORK/ref_a.txt"
"$NNBPF" infer "$WORK/b" --input "$WORK/ev.csv" --engine reference > "$WORK/ref_b.txt"
$PY - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
ev = json.load(open(f"{work}/ev.json"))
ra = [list(map(int, l.split(","))) for l in open(f"{work}/ref_a.txt")]
rb = [list(map(int, l.split(","))) for l in open(f"{work}/ref_b.txt")]
na = nb = bad = 0
for e, a, b in zip(ev, ra, rb):
    if e == a: na += 1
    elif e == b: nb += 1
    else: bad += 1; print("MIX:", e, a, b)
print(f"events: {len(ev)}, model a: {na}, model b: {nb}, neither: {bad}")
assert len(ev) >= 800, "expected >= 800 verdict events"
assert bad == 0, "an event matches neither model"
assert na > 0 and nb > 0, "both models must have classified flows"
PY
echo "hot_update: PASS ($swaps swaps)"
