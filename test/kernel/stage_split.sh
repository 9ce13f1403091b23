#!/usr/bin/env bash
# --max-stage-insns forces finer tail-call stages that the verifier accepts and
# that compute the same verdicts and logits as one stage: 2000 splits
# [6,32,32,2] (~5,900 insns with BPF ISA v4) into >= 4 stages, 1500 into >= 5
# (parts of layers per stage), 200 into one neuron per stage.
source "$(dirname "$0")/lib.bash"
require_root_bpf

onnx=$NNBPF_FIXTURES_DIR/mlp_6_32_32_2.onnx
"$NNBPF" compile "$onnx" -o "$WORK/one" > /dev/null
stages() { $PY -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["stages"]))' "$1/manifest.json"; }
"$NNBPF" compile "$onnx" -o "$WORK/split2000" --max-stage-insns 2000 > /dev/null
n2000=$(stages "$WORK/split2000")
echo "stages with --max-stage-insns 2000: $n2000"
[[ $n2000 -ge 4 ]] || fail "expected >= 4 stages at 2000, got $n2000"
"$NNBPF" compile "$onnx" -o "$WORK/split" --max-stage-insns 1500 > "$WORK/split.txt"
n=$(stages "$WORK/split")
echo "stages with --max-stage-insns 1500: $n"
[[ $n -ge 5 ]] || fail "expected >= 5 stages, got $n"
"$NNBPF" check "$WORK/split" | tee "$WORK/check.txt"
grep -q "result: PASS" "$WORK/check.txt" || fail "split object does not pass check"
grep -c '^nnbpf_stage_' "$WORK/check.txt" | grep -qx "$n" || fail "check did not list all $n stages"
"$NNBPF" check "$WORK/split" --json | $PY -c '
import json, sys
j = json.load(sys.stdin)
assert j["ok"] and j["verified"], j
assert all(p["verified_insns"] > 0 and p["stack_bytes"] >= 0 and p["jited_bytes"] > 0 for p in j["programs"]), j
' || fail "check --json"
$PY "$NNBPF_SOURCE_DIR/test/kernel/gen_inputs.py" "$WORK/one/manifest.json" 3000 11 "$WORK/in.csv"
"$NNBPF" infer "$WORK/one" --input "$WORK/in.csv" > "$WORK/one.txt" 2>/dev/null
for d in split split2000; do
  "$NNBPF" infer "$WORK/$d" --input "$WORK/in.csv" > "$WORK/$d.out" 2>/dev/null
  cmp "$WORK/one.txt" "$WORK/$d.out" || fail "$d and single-stage results differ"
done
# [24,128,128,128,2] loops over the rows of its 128x128 layers
# (compiler/codegen/emit_dense.cc): split at 37000 instructions, stages cut
# loops into row ranges that are not whole groups of 4 (42 rows, 70 rows, ...)
# and the leftover rows are straight-line code; same results as one stage.
big=$NNBPF_FIXTURES_DIR/mlp_24_128_128_128_2.onnx
"$NNBPF" compile "$big" -o "$WORK/big1" > /dev/null
"$NNBPF" compile "$big" -o "$WORK/big5" --max-stage-insns 37000 > /dev/null
nb=$(stages "$WORK/big5")
[[ $nb -ge 4 ]] || fail "expected >= 4 stages for [24,128,128,128,2] at 37000, got $nb"
"$NNBPF" check "$WORK/big5" > "$WORK/big5.check" || fail "split [24,128,128,128,2] does not pass check: $(tail -3 "$WORK/big5.check")"
$PY "$NNBPF_SOURCE_DIR/test/kernel/gen_inputs.py" "$WORK/big1/manifest.json" 1000 12 "$WORK/big.csv"
"$NNBPF" infer "$WORK/big1" --input "$WORK/big.csv" > "$WORK/big1.out" 2>/dev/null
"$NNBPF" infer "$WORK/big5" --input "$WORK/big.csv" > "$WORK/big5.out" 2>/dev/null
cmp "$WORK/big1.out" "$WORK/big5.out" || fail "[24,128,128,128,2]: $nb-stage and single-stage results differ"
# The finest split there is: one neuron per stage needs more stages than a
# tail-call chain allows for this network, which must be refused cleanly.
if "$NNBPF" compile "$onnx" -o "$WORK/tiny" --max-stage-insns 200 > "$WORK/tiny.txt" 2>&1; then
  fail "a 67-stage plan was accepted"
fi
grep -q "tail-call stages" "$WORK/tiny.txt" || fail "unclear error for too many stages: $(cat "$WORK/tiny.txt")"
echo "stage_split: PASS ($n2000 and $n stages, 3000 identical rows each; [24,128,128,128,2] in $nb stages, 1000 identical rows)"
