#!/usr/bin/env bash
# --quant int8 and the linear baseline in the kernel, bit for bit:
#  - the linear SVM of examples/train/baselines.py: trained, exported,
#    compiled, kernel == reference, and its float model the same in numpy
#    and C++;
#  - int8 [6,32,32,2] and [24,128,128,128,2] with BPF v4 (sign-extending
#    byte loads) and v3 (load + shifts; 30,000-instruction stages), the
#    LinearClassifier model (int32 and int8) and its one-layer Gemm form:
#    10,000 random inputs each (in range, at the bounds, beyond them),
#    kernel == reference;
#  - the bundled model on every row of the eBPF-Reproduction data set: int8
#    kernel == int8 reference, and int8's loss against the float model next
#    to int32's (verdict agreement with float on all rows), with and without
#    calibration rows.
source "$(dirname "$0")/lib.bash"
require_root_bpf
require_repro_data

check_model() {  # name onnx compile-args...
  check_kernel_equals_reference "$@"
  local ones; ones=$(cut -d, -f1 "$WORK/$1.kernel.txt" | grep -c '^1$' || true)
  [[ $ones -gt 0 && $ones -lt 10000 ]] || fail "$1: only one verdict occurs ($ones of 10000 are 1)"
  echo "$1: 10000 random rows identical (kernel == reference), $ones classified 1, $(grep -o 'params: .*' "$WORK/$1.compile.txt")"
}

check_model int8_v4 "$NNBPF_FIXTURES_DIR/mlp_6_32_32_2.onnx" --quant int8 --allow-disagreement --bpf-isa v4
check_model int8_v3 "$NNBPF_FIXTURES_DIR/mlp_6_32_32_2.onnx" --quant int8 --allow-disagreement --bpf-isa v3
grep -q '"mode": "int8"' "$WORK/int8_v3/manifest.json" || fail "manifest lacks quant.mode int8"
cmp -s "$WORK/int8_v4.ref.txt" "$WORK/int8_v3.ref.txt" || fail "int8 v3 and v4 reference outputs differ"
check_model int8_24 "$NNBPF_FIXTURES_DIR/mlp_24_128_128_128_2.onnx" --quant int8 --allow-disagreement
check_model int8_24_v3 "$NNBPF_FIXTURES_DIR/mlp_24_128_128_128_2.onnx" --quant int8 --allow-disagreement --bpf-isa v3
cmp -s "$WORK/int8_24.ref.txt" "$WORK/int8_24_v3.ref.txt" || fail "int8 [24,...] v3 and v4 reference outputs differ"
check_model linear "$NNBPF_FIXTURES_DIR/linear_binary.onnx"
check_model linear_int8 "$NNBPF_FIXTURES_DIR/linear_binary.onnx" --quant int8
# The one-layer Gemm form is the same function: same integer model, same outputs.
"$NNBPF" compile "$NNBPF_FIXTURES_DIR/linear_binary_gemm.onnx" -o "$WORK/gemm" > /dev/null || fail "gemm: compile"
"$NNBPF" infer "$WORK/gemm" --input "$WORK/linear.in.csv" --engine reference > "$WORK/gemm.ref.txt"
cmp -s "$WORK/gemm.ref.txt" "$WORK/linear.ref.txt" || fail "LinearClassifier and Gemm forms differ"
echo "linear: LinearClassifier and one-layer Gemm give identical integer outputs"

# The linear SVM baseline end to end: baselines.py trains and exports it; the
# C++ frontend's float engine and the numpy evaluator (nnbpf_data.OnnxMLP)
# agree on every held-out row; compiled at b = 16 it is bit-exact in the
# kernel and agrees with float on >= 99.9 % of the held-out rows.
$PY "$NNBPF_SOURCE_DIR/examples/train/baselines.py" linear --data "$REPRO_DATA" --out "$WORK/svm.onnx" \
  --holdout "$WORK/svm.holdout.csv" > "$WORK/svm.txt" 2>&1 || { cat "$WORK/svm.txt"; fail "baselines.py linear"; }
check_model svm "$WORK/svm.onnx" --calibration "$REPRO_DATA" --scale-bits 16
"$NNBPF" infer "$WORK/svm" --input "$WORK/svm.holdout.csv" --engine float > "$WORK/svm.float" || fail "svm: float"
"$NNBPF" infer "$WORK/svm" --input "$WORK/svm.holdout.csv" --engine kernel > "$WORK/svm.kernel" 2>/dev/null || fail "svm: kernel"
$PY - "$WORK" <<'PY' || fail "svm: numpy and C++ float models differ"
import sys
import nnbpf_data as nd
work = sys.argv[1]
model = nd.OnnxMLP(work + "/svm.onnx")
flows = nd.load_flows(work + "/svm.holdout.csv", features=model.metadata["nnbpf.features"].split(","))
numpy_verdicts = [int(v) for v in model.predict(flows.X)]
cpp_verdicts = [int(l.split(",")[0]) for l in open(work + "/svm.float")]
assert numpy_verdicts == cpp_verdicts, "verdicts differ on %d rows" % sum(
    a != b for a, b in zip(numpy_verdicts, cpp_verdicts))
print("svm: numpy and C++ float verdicts identical on %d held-out rows" % len(cpp_verdicts))
PY
n=$(wc -l < "$WORK/svm.float")
a=$(paste -d' ' <(cut -d, -f1 "$WORK/svm.kernel") <(cut -d, -f1 "$WORK/svm.float") | awk '$1==$2' | wc -l)
echo "svm: kernel/float verdict agreement $a/$n on the held-out rows; $(grep -E '^accuracy' "$WORK/svm.txt")"
[[ $((a * 1000)) -ge $((n * 999)) ]] || fail "svm: kernel/float agreement below 99.9 %"

# The bundled model on the data set: int32 and int8 against the float model.
model=$NNBPF_SOURCE_DIR/examples/models/nnbpf-repro-top6.onnx
holdout=$NNBPF_SOURCE_DIR/examples/models/nnbpf-repro-top6.holdout.csv
rows=$(($(wc -l < "$REPRO_DATA") - 1))
"$NNBPF" compile "$model" -o "$WORK/top6_32" > /dev/null || fail "top6 int32: compile"
"$NNBPF" compile "$model" -o "$WORK/top6_8" --quant int8 --allow-disagreement > /dev/null 2>&1 || fail "top6 int8: compile"
"$NNBPF" compile "$model" -o "$WORK/top6_8c" --quant int8 --calibration "$holdout" > /dev/null \
  || fail "top6 int8 calibrated: compile"
"$NNBPF" infer "$WORK/top6_32" --input "$REPRO_DATA" --engine float > "$WORK/top6.float" || fail "float on data"
for v in top6_32 top6_8 top6_8c; do
  "$NNBPF" infer "$WORK/$v" --input "$REPRO_DATA" --engine reference > "$WORK/$v.ref" || fail "$v: reference on data"
  [[ $(wc -l < "$WORK/$v.ref") -eq $rows ]] || fail "$v: expected $rows rows"
done
for v in top6_8 top6_8c; do
  "$NNBPF" infer "$WORK/$v" --input "$REPRO_DATA" --engine kernel > "$WORK/$v.kernel" 2>/dev/null || fail "$v: kernel on data"
  cmp -s "$WORK/$v.kernel" "$WORK/$v.ref" || fail "$v: kernel and reference differ on the data set"
done
agree() { paste -d' ' <(cut -d, -f1 "$1") <(cut -d, -f1 "$WORK/top6.float") | awk '$1==$2' | wc -l; }
a32=$(agree "$WORK/top6_32.ref"); a8=$(agree "$WORK/top6_8.ref"); a8c=$(agree "$WORK/top6_8c.ref")
labels=$($PY -c "
import csv, sys
r = csv.reader(open('$REPRO_DATA')); h = next(r); i = h.index('label')
print(' '.join(row[i] for row in r))")
acc() { paste -d' ' <(cut -d, -f1 "$1") <(tr ' ' '\n' <<< "$labels") | awk '$1==$2' | wc -l; }
echo "top6 on all $rows rows: verdict agreement with float: int32 $a32, int8 $a8 (interval scales)," \
     "int8 $a8c (calibrated on the held-out rows); label accuracy: float $(acc "$WORK/top6.float")," \
     "int32 $(acc "$WORK/top6_32.ref"), int8 $(acc "$WORK/top6_8.ref"), int8 calibrated $(acc "$WORK/top6_8c.ref")"
echo "top6 kernel == reference on all rows for int8 and int8 calibrated"
[[ $((a32 * 1000)) -ge $((rows * 999)) ]] || fail "int32 agreement below 99.9 %"
# int8 with calibration rows: measured 99.97 %; interval-analysis scales are
# looser (reported above, not a target).
[[ $((a8c * 1000)) -ge $((rows * 995)) ]] || fail "int8 (calibrated) agreement with float below 99.5 %"
echo "int8_linear: PASS"
