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

verdicts_differ() {  # a b: number of rows whose verdicts differ
  paste -d' ' <(cut -d, -f1 "$1") <(cut -d, -f1 "$2") | awk '$1 != $2' | wc -l
}

check_tree() {  # name onnx [compile options]
  local name=$1 onnx=$2 dir=$WORK/$1
  "$NNBPF" compile "$onnx" -o "$dir" "${@:3}" > "$WORK/$name.compile.txt" || fail "$name: compile"
  "$NNBPF" compile "$onnx" --emit ir -o "$WORK/$name.ir" || fail "$name: --emit ir"
  "$NNBPF" check "$dir" > "$WORK/$name.check.txt" || { cat "$WORK/$name.check.txt"; fail "$name: check"; }
  grep -q "result: PASS" "$WORK/$name.check.txt" || fail "$name: check did not pass"
  $PY "$NNBPF_SOURCE_DIR/test/kernel/gen_tree_inputs.py" "$WORK/$name.ir" 10000 7 "$WORK/$name.in.csv"
  "$NNBPF" infer "$dir" --input "$WORK/$name.in.csv" --engine kernel > "$WORK/$name.kernel.txt" 2> "$WORK/$name.kernel.err" \
    || { cat "$WORK/$name.kernel.err"; fail "$name: kernel infer"; }
  "$NNBPF" infer "$dir" --input "$WORK/$name.in.csv" --engine reference > "$WORK/$name.ref.txt" || fail "$name: reference infer"
  "$NNBPF" infer "$dir" --input "$WORK/$name.in.csv" --engine float > "$WORK/$name.float.txt" || fail "$name: float infer"
  [[ $(wc -l < "$WORK/$name.kernel.txt") -eq 10000 ]] || fail "$name: expected 10000 kernel rows"
  cmp -s "$WORK/$name.kernel.txt" "$WORK/$name.ref.txt" || {
    diff <(head -n 2000 "$WORK/$name.kernel.txt") <(head -n 2000 "$WORK/$name.ref.txt") | head -5
    fail "$name: kernel and reference differ"; }
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
dir=$WORK/dt10
"$NNBPF" compile "$WORK/dt10.onnx" -o "$dir" > /dev/null || fail "dt10: compile"
"$NNBPF" check "$dir" | grep -q "result: PASS" || fail "dt10: check"
"$NNBPF" infer "$dir" --input "$REPRO_DATA" --engine kernel > "$WORK/dt10.kernel" 2>/dev/null || fail "dt10: kernel on data"
"$NNBPF" infer "$dir" --input "$REPRO_DATA" --engine reference > "$WORK/dt10.ref" || fail "dt10: reference on data"
"$NNBPF" infer "$dir" --input "$REPRO_DATA" --engine float > "$WORK/dt10.float" || fail "dt10: float on data"
rows=$(($(wc -l < "$REPRO_DATA") - 1))
[[ $(wc -l < "$WORK/dt10.kernel") -eq $rows ]] || fail "dt10: expected $rows rows"
cmp -s "$WORK/dt10.kernel" "$WORK/dt10.ref" || fail "dt10: kernel and reference differ on the data set"
diff=$(verdicts_differ "$WORK/dt10.kernel" "$WORK/dt10.float")
[[ $diff -eq 0 ]] || fail "dt10: float and kernel verdicts differ on $diff of $rows rows"
echo "dt10: all $rows data-set rows identical (kernel == reference), float == kernel verdicts on all of them"
echo "tree_equivalence: PASS"
