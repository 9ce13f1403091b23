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
C1=$!; harness_track $C1
in_c $PY "$TRAFFIC" connect "$IP_V" 9999 --count 400 --gap 0.004 --src "$IP_C" > "$WORK/c2.txt" &
C2=$!; harness_track $C2
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
$PY "$NNBPF_SOURCE_DIR/test/e2e/events_vs_models.py" "$WORK/events.jsonl" "$WORK/a" "$WORK/b" --min 800 \
  || fail "events vs models"
echo "hot_update: PASS ($swaps swaps)"
