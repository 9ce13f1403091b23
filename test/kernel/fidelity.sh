#!/usr/bin/env bash
# Compiler fidelity (docs/compile.md#agreement, docs/semantics.md#choosing-b):
# compiled with no flags, the kernel decides like the float model — verdict
# agreement >= 99.9 % on each model's data and on a dense sample around its
# decision boundary (test/kernel/boundary_rows.py) — and kernel == reference, bit for bit, on 10,000 random
# in-range rows. Models: the fidelity fixtures (test/fixtures/
# make_fidelity_models.py: a bias-shifted port threshold, single-feature rules
# at tiny standardized margins, a bias-dominated unit, a large-weight layer
# next to a small-weight one with differing per-layer exponents), the bundled linear SVM
# and the bundled 6x64x2 MLP on the eBPF-Reproduction flows.
source "$(dirname "$0")/lib.bash"
require_root_bpf
require_repro_data

agree_at_least() {  # name what rows.csv: kernel vs float verdicts >= 99.9 %
  local name=$1 what=$2 rows=$3 out=$WORK/$1.$2 n agree
  infer_engines "$name on $what" "$WORK/$name" "$rows" "$out" kernel reference float
  n=$(($(wc -l < "$rows") - 1))
  agree=$((n - $(verdicts_differ "$out.kernel.txt" "$out.float.txt")))
  local ones; ones=$(cut -d, -f1 "$out.float.txt" | grep -c '^1$' || true)
  echo "$name: $what: float/kernel verdict agreement $agree/$n ($ones judged 1 by the float model)"
  [[ $((agree * 1000)) -ge $((n * 999)) ]] || fail "$name: $what: float/kernel agreement $agree/$n is below 99.9 %"
  [[ $ones -gt 0 && $ones -lt $n ]] || fail "$name: $what: the float model gives one verdict on every row"
}

check_fidelity() {  # name onnx data.csv [boundary.csv]
  local name=$1 onnx=$2 data=$3 boundary=${4:-}
  check_kernel_equals_reference "$name" "$onnx"
  grep -q '^agree:' "$WORK/$name.compile.txt" || fail "$name: the compile summary has no agree: line"
  echo "$name: $(grep '^scale:' "$WORK/$name.compile.txt" | cut -c1-120)"
  echo "$name: 10000 random rows identical (kernel == reference)"
  agree_at_least "$name" data "$data"
  if [[ -z $boundary ]]; then
    boundary=$WORK/$name.boundary.csv
    $PY "$NNBPF_SOURCE_DIR/test/kernel/boundary_rows.py" "$NNBPF" "$WORK/$name" "$data" 300 5 "$boundary" \
      || fail "$name: boundary sample"
  fi
  agree_at_least "$name" boundary "$boundary"
}

for f in fid_port8080 fid_rules fid_bias; do
  check_fidelity "$f" "$NNBPF_FIXTURES_DIR/$f.onnx" "$NNBPF_FIXTURES_DIR/$f.data.csv" "$NNBPF_FIXTURES_DIR/$f.boundary.csv"
done
# The fixtures carry nnbpf.calibration: the gate judged those rows.
grep -q 'model metadata nnbpf.calibration' "$WORK/fid_port8080.compile.txt" || fail "fid_port8080: gate did not use nnbpf.calibration"
# nnbpf check --json repeats the manifest's agreement and logit_frac_bits.
"$NNBPF" check "$WORK/fid_port8080" --json | $PY -c '
import json, sys
j = json.load(sys.stdin); a = j["agreement"]; q = j["quant"]
m = json.load(open(sys.argv[1]))
assert j["ok"] and a["passed"] and a["agreement"] >= 0.999 and a["rows"] == 500, a
assert a["source"] == "model metadata nnbpf.calibration" and not a["sampled"], a
assert q["b"] == m["quant"]["b"] and q["layer_b"] == m["quant"]["layer_b"], q
assert q["logit_frac_bits"] == q["layer_b"][-1] == m["quant"]["logit_frac_bits"], q
assert m["quant"]["b_uniform"] == m["quant"]["b_safe"] - m["quant"]["margin_bits"], m["quant"]
assert min([q["b"]] + q["layer_b"]) >= m["quant"]["b_uniform"], m["quant"]
print("fid_port8080: check --json: agreement %.4f on %d rows, logit_frac_bits %d" % (a["agreement"], a["rows"], q["logit_frac_bits"]))
' "$WORK/fid_port8080/manifest.json" || fail "check --json lacks the agreement"
# Per-layer exponents (docs/semantics.md#per-layer): a layer with large
# weights next to one with small ones; the exponents must differ.
check_fidelity fid_shifts "$NNBPF_FIXTURES_DIR/fid_shifts.onnx" "$NNBPF_FIXTURES_DIR/fid_shifts.data.csv"
$PY -c '
import json, sys
q = json.load(open(sys.argv[1]))["quant"]
assert len(set([q["b"]] + q["layer_b"])) >= 3, q
print("fid_shifts: exponents b = %d, layer_b = %s (uniform b = %d)" % (q["b"], q["layer_b"], q["b_uniform"]))
' "$WORK/fid_shifts/manifest.json" || fail "fid_shifts: per-layer exponents do not differ"
check_fidelity svm "$NNBPF_SOURCE_DIR/examples/models/nnbpf-repro-svm.onnx" "$REPRO_DATA"
check_fidelity mlp_6_64_2 "$NNBPF_SOURCE_DIR/examples/models/nnbpf-repro-top6.onnx" "$REPRO_DATA"
echo "fidelity: PASS"
