#!/usr/bin/env bash
# Hot update of an int8 pipeline (--quant int8): an int8 model is replaced by
# another int8 model of the same shape under traffic (the stats then show the
# new digest and a new generation, and every verdict event's logits equal one
# of the two models' int8 reference logits); an int32 artifact of the same
# shape is refused with one line naming the quantization, and changes nothing.
source "$(dirname "$0")/lib.bash"
setup_net
"$NNBPF" compile "$NNBPF_FIXTURES_DIR/port_gate.onnx" -o "$WORK/a" --quant int8 > /dev/null
"$NNBPF" compile "$NNBPF_FIXTURES_DIR/port_gate_inv.onnx" -o "$WORK/b" --quant int8 > /dev/null
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

$PY - "$WORK" <<'PY'
import csv, json, sys
work = sys.argv[1]
feats = json.load(open(f"{work}/a/manifest.json"))["features"]
ev = [json.loads(l) for l in open(f"{work}/events.jsonl")]
ev = [e for e in ev if e["event"] == "verdict"]
with open(f"{work}/ev.csv", "w", newline="") as f:
    w = csv.writer(f); w.writerow(feats)
    for e in ev: w.writerow([e["features"][k] for k in feats])
json.dump([[e["verdict"]] + e["logits"] for e in ev], open(f"{work}/ev.json", "w"))
PY
"$NNBPF" infer "$WORK/a" --input "$WORK/ev.csv" --engine reference > "$WORK/ref_a.txt"
"$NNBPF" infer "$WORK/b" --input "$WORK/ev.csv" --engine reference > "$WORK/ref_b.txt"
$PY - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
ev = json.load(open(f"{work}/ev.json"))
ra = [list(map(int, l.split(","))) for l in open(f"{work}/ref_a.txt")]
rb = [list(map(int, l.split(","))) for l in open(f"{work}/ref_b.txt")]
na = sum(e == a for e, a in zip(ev, ra))
nb = sum(e == b and e != a for e, a, b in zip(ev, ra, rb))
bad = len(ev) - na - nb
print(f"int8 events: {len(ev)}, model a: {na}, model b: {nb}, neither: {bad}")
assert len(ev) >= 100, "expected >= 100 verdict events"
assert bad == 0, "an event matches neither int8 model"
assert na > 0 and nb > 0, "both int8 models must have classified flows"
PY
echo "hot_update_int8: PASS"
