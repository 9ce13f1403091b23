#!/usr/bin/env bash
# Training on a small slice of the eBPF-Reproduction data (every 6th flow, 24
# epochs of batch 64) yields a model that `nnbpf compile` takes with no flags (the
# metadata carries features and input ranges), that passes `nnbpf check`, and
# whose kernel verdicts equal the reference interpreter bit for bit and its
# float model on >= 99.5 % of the held-out flows. Also checks the training
# contract: held-out rows copied unchanged, metadata present, seed reproducible.
source "$(dirname "$0")/lib.bash"
require_root_bpf
require_repro_data

TRAIN=$NNBPF_SOURCE_DIR/examples/train/train.py
awk 'NR == 1 || NR % 6 == 2' "$REPRO_DATA" > "$WORK/slice.csv"
rows=$(($(wc -l < "$WORK/slice.csv") - 1))

# Twice with the same arguments: same seed, same data -> the same bytes.
for run in a b; do
  $PY "$TRAIN" --data "$WORK/slice.csv" --out "$WORK/m.onnx" --holdout "$WORK/h.csv" \
      --seed 7 --epochs 24 --batch-size 64 --quiet --metrics-out "$WORK/metrics.json" > "$WORK/train.txt" \
    || fail "train.py exited non-zero"
  sha256sum < "$WORK/m.onnx" > "$WORK/m_$run.sha"
  sha256sum < "$WORK/h.csv" > "$WORK/h_$run.sha"
done
cmp -s "$WORK/m_a.sha" "$WORK/m_b.sha" || fail "same seed, same data: the two ONNX files differ"
cmp -s "$WORK/h_a.sha" "$WORK/h_b.sha" || fail "same seed: different held-out rows"

held=$(($(wc -l < "$WORK/h.csv") - 1))
expect=$(( (rows + 4) / 5 ))   # --test-size 0.2, rounded up as sklearn does
[[ $held -eq $expect ]] || fail "held-out rows: $held, expected $expect of $rows"
head -n1 "$WORK/h.csv" | cmp -s - <(head -n1 "$REPRO_DATA") || fail "held-out header differs from the data's"
# Every held-out line is a line of the slice, unchanged.
missing=$( (grep -vxFf "$WORK/slice.csv" "$WORK/h.csv" || true) | wc -l)
[[ $missing -eq 0 ]] || fail "$missing held-out lines are not lines of the input"

"$NNBPF" compile "$WORK/m.onnx" -o "$WORK/art" > "$WORK/compile.txt" || fail "compile without flags"
grep -q "model metadata" "$WORK/compile.txt" || { cat "$WORK/compile.txt"; fail "input ranges did not come from the metadata"; }
"$NNBPF" check "$WORK/art" > "$WORK/check.txt" || { cat "$WORK/check.txt"; fail "check"; }

infer_engines "held-out rows" "$WORK/art" "$WORK/h.csv" "$WORK/h" kernel reference float
same=$((held - $(verdicts_differ "$WORK/h.kernel.txt" "$WORK/h.float.txt")))
awk -v s="$same" -v n="$held" 'BEGIN { exit !(s * 1000 >= n * 995) }' \
  || fail "kernel/float verdict agreement $same/$held is below 99.5 %"
f1=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["heldout"]["f1"])' "$WORK/metrics.json")
awk -v f="$f1" 'BEGIN { exit !(f >= 0.97) }' || fail "float F1 $f1 on the slice: training did not learn"
echo "slice: $rows flows, $held held out; float F1 $f1; kernel == reference on all; kernel/float agree on $same/$held"
