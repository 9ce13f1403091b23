#!/usr/bin/env bash
# Hot update of an int8 pipeline (--quant int8): an int8 model is replaced by
# another int8 model of the same shape under traffic (the stats then show the
# new digest and a new generation, and every verdict event's logits equal one
# of the two models' int8 reference logits); an int32 artifact of the same
# shape is refused with one line naming the quantization, and changes nothing.
source "$(dirname "$0")/lib.bash"
setup_net
"$NNBPF" compile "$NNBPF_FIXTURES_DIR/port_gate.onnx" -o "$WORK/a" --quant int8 --allow-disagreement > /dev/null 2>/dev/null
"$NNBPF" compile "$NNBPF_FIXTURES_DIR/port_gate_inv.onnx" -o "$WORK/b" --quant int8 --allow-disagreement > /dev/null 2>/dev/null
"$NNBPF" compile "$NNBPF_FIXTURES_DIR/port_gate_inv.onnx" -o "$WORK/b32" > /dev/null
start_servers 8000,9999 60
start_nnbpf "$WORK/a" --allow "$IP_C/32"

in_c $PY "$TRAFFIC" connect "$IP_V" 8000 --count 60 --src "$IP_C" > "$WORK/c1.txt" \
  || fail "connections before the update"
gen0=$(stat_of param_generation)
vnnbpf update "$WORK/b" --iface "$IF_V" > "$WORK/update.txt" || fail "int8 -> int8 update failed"
cat "$WORK/update.txt"
gen1=$(stat_of param_generation)
[[ $gen1 -gt $gen0 ]] || fail "generation did not advance ($gen0 -> $gen1)"
digest_b=$($PY -c "import json; print(json.load(open('$WORK/b/manifest.json'))['model_digest'])")
[[ $(stat_of model_digest) == "$digest_b" ]] || fail "running digest is not model b's"
in_c $PY "$TRAFFIC" connect "$IP_V" 9999 --count 60 --src "$IP_C" > "$WORK/c2.txt" \
  || fail "connections after the update"

if vnnbpf update "$WORK/b32" --iface "$IF_V" 2> "$WORK/mismatch.err"; then fail "int32 update of an int8 pipeline accepted"; fi
cat "$WORK/mismatch.err"
[[ $(wc -l < "$WORK/mismatch.err") -eq 1 ]] || fail "mismatch error is not one line"
grep -q "update refused: the new model is quantized int32, the running pipeline int8" "$WORK/mismatch.err" \
  || fail "unclear mismatch error"
[[ $(stat_of param_generation) == "$gen1" ]] || fail "a refused update changed the running parameters"
sleep 0.5
stop_nnbpf

$PY "$NNBPF_SOURCE_DIR/test/e2e/events_vs_models.py" "$WORK/events.jsonl" "$WORK/a" "$WORK/b" --min 100 \
    --what "int8 model" || fail "events vs int8 models"
echo "hot_update_int8: PASS"
