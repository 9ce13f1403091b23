#!/usr/bin/env bash
# Decision trees: kernel == reference, bit for bit, on 10,000 inputs per tree
# (half of the cells at a node's threshold t-1, t or t+1, the rest
# log-uniform or extreme u64 values) for trees of depth 3, 10 and 20, a tree
# behind a Scaler and behind Sub/Div, and a 3-class ensemble (also split into
# one tail-call stage per tree); the float
# engine's verdicts agree on every one of those rows. Then a depth-10 tree
# trained on the eBPF-Reproduction data (examples/train/baselines.py): kernel
# == reference and float == kernel verdicts on every row of the data set.
source "$(dirname "$0")/lib.bash"
require_root_bpf
require_repro_data

check_tree() {  # name onnx [compile options]
  local name=$1 onnx=$2
  compile_and_check "$name" "$onnx" "${@:3}"
  "$NNBPF" compile "$onnx" --emit ir -o "$WORK/$name.ir" || fail "$name: --emit ir"
  $PY "$NNBPF_SOURCE_DIR/test/kernel/gen_tree_inputs.py" "$WORK/$name.ir" 10000 7 "$WORK/$name.in.csv"
  infer_engines "$name" "$WORK/$name" "$WORK/$name.in.csv" "$WORK/$name" kernel reference float
  local diff; diff=$(verdicts_differ "$WORK/$name.kernel.txt" "$WORK/$name.float.txt")
  [[ $diff -eq 0 ]] || fail "$name: float and kernel verdicts differ on $diff rows"
  # Every class must occur, or the comparison proves little.
  local classes; classes=$(cut -d, -f1 "$WORK/$name.kernel.txt" | sort -u | wc -l)
  [[ $classes -ge 2 ]] || fail "$name: only one verdict in 10000 rows"
  echo "$name: 10000 rows identical (kernel == reference), float verdicts equal, $classes verdicts seen; $(cat "$WORK/$name.kernel.err")"
}

for t in tree_d3 tree_d10 tree_d20 tree_std_d10 tree_subdiv_d3 tree_ens3; do
  check_tree "$t" "$NNBPF_FIXTURES_DIR/$t.onnx"
done
# The ensemble split into one stage per tree.
check_tree tree_ens3_split "$NNBPF_FIXTURES_DIR/tree_ens3.onnx" --max-stage-insns 400
grep -q "stages:   3" "$WORK/tree_ens3_split.compile.txt" || fail "tree_ens3_split: expected 3 stages"

# A depth-10 tree trained on the data set; every row.
$PY "$NNBPF_SOURCE_DIR/examples/train/baselines.py" tree --data "$REPRO_DATA" --out "$WORK/dt10.onnx" \
  --depth 10 --seed 1 > "$WORK/dt10.train.txt" 2>&1 || { cat "$WORK/dt10.train.txt"; fail "baselines.py tree"; }
compile_and_check dt10 "$WORK/dt10.onnx"
infer_engines "dt10 on the data set" "$WORK/dt10" "$REPRO_DATA" "$WORK/dt10.data" kernel reference float
rows=$(($(wc -l < "$REPRO_DATA") - 1))
diff=$(verdicts_differ "$WORK/dt10.data.kernel.txt" "$WORK/dt10.data.float.txt")
[[ $diff -eq 0 ]] || fail "dt10: float and kernel verdicts differ on $diff of $rows rows"
echo "dt10: all $rows data-set rows identical (kernel == reference), float == kernel verdicts on all of them"
echo "tree_equivalence: PASS"
