#!/usr/bin/env bash
# Kernel == reference, bit for bit: 10,000 random inputs per model (in range,
# at the bounds and beyond them), and every row of the eBPF-Reproduction data
# set for the bundled models; float vs kernel verdict agreement >= 99.9 % on
# the data set for the model trained on it; the lab model on its own data
# (>= 99 %: a few hundred flows).
source "$(dirname "$0")/lib.bash"
require_root_bpf
require_repro_data

check_model() {  # name onnx
  check_kernel_equals_reference "$1" "$2"
  # Both verdicts must occur, or the comparison proves little.
  local ones; ones=$(cut -d, -f1 "$WORK/$1.kernel.txt" | grep -c '^1$' || true)
  echo "$1: 10000 random rows identical (kernel == reference), $ones classified 1; $(cat "$WORK/$1.kernel.err")"
}

check_model mlp_6_32_32_2 "$NNBPF_FIXTURES_DIR/mlp_6_32_32_2.onnx"
check_model mlp_6_32_32_2_nobias "$NNBPF_FIXTURES_DIR/mlp_6_32_32_2_nobias.onnx"
check_model mlp_24_128_128_128_2 "$NNBPF_FIXTURES_DIR/mlp_24_128_128_128_2.onnx"
check_model repro_top6 "$NNBPF_SOURCE_DIR/examples/models/nnbpf-repro-top6.onnx"
check_model repro_top6_nobias "$NNBPF_SOURCE_DIR/examples/models/nnbpf-repro-top6-nobias.onnx"

for name in repro_top6 repro_top6_nobias; do
  infer_engines "$name on the data set" "$WORK/$name" "$REPRO_DATA" "$WORK/$name.data" kernel reference float
  rows=$(($(wc -l < "$REPRO_DATA") - 1))
  agree=$((rows - $(verdicts_differ "$WORK/$name.data.kernel.txt" "$WORK/$name.data.float.txt")))
  echo "$name: all $rows data-set rows identical (kernel == reference); float/kernel verdict agreement $agree/$rows"
  [[ $((agree * 1000)) -ge $((rows * 999)) ]] || fail "$name: float/kernel agreement below 99.9 %"
done
# The lab model the demo deploys: kernel == reference and kernel == float on
# every flow it was trained on, and the documented command (examples/models/
# README.md) retrains the same weights from the shipped data.
check_model lab "$NNBPF_SOURCE_DIR/examples/models/nnbpf-lab.onnx"
LAB_CSV=$NNBPF_SOURCE_DIR/examples/models/nnbpf-lab.train.csv
infer_engines "lab on its data" "$WORK/lab" "$LAB_CSV" "$WORK/lab.train" kernel reference float
lab_rows=$(($(wc -l < "$LAB_CSV") - 1))
lab_agree=$((lab_rows - $(verdicts_differ "$WORK/lab.train.kernel.txt" "$WORK/lab.train.float.txt")))
[[ $((lab_agree * 100)) -ge $((lab_rows * 99)) ]] || fail "lab: float/kernel agreement $lab_agree/$lab_rows is below 99 %"
$PY "$NNBPF_SOURCE_DIR/examples/train/train.py" --data "$LAB_CSV" --out "$WORK/lab-again.onnx" --seed 1 --epochs 200 \
    --batch-size 32 --target-fpr 0.01 --quiet > /dev/null 2>&1 || fail "lab: retraining with the documented command"
# the operating point the model card documents
meta_margin() { $PY -c 'import onnx, sys; print({p.key: p.value for p in onnx.load(sys.argv[1]).metadata_props}.get("nnbpf.min_margin", "none"))' "$1"; }
[[ $(meta_margin "$NNBPF_SOURCE_DIR/examples/models/nnbpf-lab.onnx") == "$(meta_margin "$WORK/lab-again.onnx")" ]] ||
  fail "lab: nnbpf.min_margin of the shipped and the retrained model differ"
"$NNBPF" compile "$WORK/lab-again.onnx" -o "$WORK/lab-again" > /dev/null || fail "lab: compile the retrained model"
"$NNBPF" infer "$WORK/lab-again" --input "$LAB_CSV" --engine float > "$WORK/lab-again.float" || fail "lab: float"
cmp -s "$WORK/lab.train.float.txt" "$WORK/lab-again.float" || fail "lab: the documented command does not reproduce the shipped model"
echo "lab: $lab_rows training flows identical (kernel == reference); float/kernel verdict agreement $lab_agree/$lab_rows; retrained: same float logits"
echo "equivalence: PASS"
