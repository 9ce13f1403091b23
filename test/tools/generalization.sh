#!/usr/bin/env bash
# Leave-one-scenario-out (tools/lab/generalization.py) on a small shipped lab
# capture (test/fixtures/lab-loso-day{1,2}.csv: a few hundred flows of two
# days of tools/lab/dataset.sh): for two benign scenarios and one attack, a
# model is trained without the scenario (examples/train/train.py, few epochs)
# and judged on it. Checks, independently of the script: the held-out class is
# absent from its training set and present nowhere else; flows and sources
# ((day, address) pairs) per held-out class equal the fixture's; the reported
# intrusion verdicts and rates equal those in its verdict file; those verdicts
# equal `nnbpf infer --engine float` of the same model; bad input fails with
# one line. No root needed.
set -euo pipefail
: "${NNBPF:?NNBPF must point at the nnbpf binary}"
: "${NNBPF_SOURCE_DIR:?}"
PY=/usr/bin/python3
export PYTHONPATH=$NNBPF_SOURCE_DIR/examples/train${PYTHONPATH:+:$PYTHONPATH}  # the Python package
D1=$NNBPF_SOURCE_DIR/test/fixtures/lab-loso-day1.csv
D2=$NNBPF_SOURCE_DIR/test/fixtures/lab-loso-day2.csv
GEN=$NNBPF_SOURCE_DIR/tools/lab/generalization.py
WORK=$(mktemp -d /tmp/nnbpf-loso.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

HELD=(benign-dns scan-xmas)
only=$(IFS=,; echo "${HELD[*]}")
$PY "$GEN" --data "$D1" "$D2" --work "$WORK/loso" --only "$only" --epochs 15 --cap 40 \
  --train-arg=--threads --train-arg=1 \
  --json "$WORK/r.json" --md "$WORK/r.md" > "$WORK/out.md" 2> "$WORK/err" || { cat "$WORK/err"; fail "generalization.py"; }
cmp -s "$WORK/out.md" "$WORK/r.md" || fail "--md differs from the printed table"
grep -q '^| benign-dns |' "$WORK/r.md" || fail "no table row for benign-dns"
grep -q '^| scan-xmas |' "$WORK/r.md" || fail "no table row for scan-xmas"

# column numbers in the fixture
cls_col=$(head -n 1 "$D1" | tr ',' '\n' | grep -nx class | cut -d: -f1)
src_col=$(head -n 1 "$D1" | tr ',' '\n' | grep -nx src | cut -d: -f1)
lab_col=$(head -n 1 "$D1" | tr ',' '\n' | grep -nx label | cut -d: -f1)
for h in "${HELD[@]}"; do
  d=$WORK/loso/$h
  # the held-out class is nowhere in its training rows, and the training rows hold both labels
  n_in_train=$(awk -F, -v c="$cls_col" -v h="$h" 'NR > 1 && $c == h' "$d/train.csv" | wc -l)
  [[ $n_in_train -eq 0 ]] || fail "$h: $n_in_train of its rows in its own training set"
  for l in 0 1; do
    awk -F, -v c="$lab_col" -v l=$l 'NR > 1 && $c == l {f = 1} END {exit !f}' "$d/train.csv" || fail "$h: no label $l in training"
  done
  want_flows=$(awk -F, -v c="$cls_col" -v h="$h" 'FNR > 1 && $c == h' "$D1" "$D2" | wc -l)
  want_src=$(awk -F, -v c="$cls_col" -v s="$src_col" -v h="$h" 'FNR > 1 && $c == h {print FILENAME, $s}' "$D1" "$D2" | sort -u | wc -l)
  [[ $want_flows -gt 0 ]] || fail "$h: not in the fixture"
  got=$($PY -c '
import json, sys
r = [x for x in json.load(open(sys.argv[1]))["results"] if x["class"] == sys.argv[2]]
assert len(r) == 1, r
r = r[0]
print(r["flows"], r["sources"], r["intrusion_verdicts"], "%.9f" % r["rate"], r["label"], r["sources_any"])' "$WORK/r.json" "$h")
  read -r flows srcs verdicts rate label any <<< "$got"
  [[ $flows -eq $want_flows ]] || fail "$h: flows $flows, the fixture has $want_flows"
  [[ $srcs -eq $want_src ]] || fail "$h: sources $srcs, the fixture has $want_src"
  [[ $(wc -l < "$d/verdicts.txt") -eq $flows ]] || fail "$h: verdict file has $(wc -l < "$d/verdicts.txt") rows"
  ones=$(grep -c '^1,' "$d/verdicts.txt" || true)
  [[ $ones -eq $verdicts ]] || fail "$h: $verdicts intrusion verdicts reported, $ones in the verdict file"
  want_rate=$(awk -v a="$ones" -v b="$flows" 'BEGIN {printf "%.9f", a / b}')
  [[ $rate == "$want_rate" ]] || fail "$h: rate $rate, expected $want_rate"
  [[ $any -le $srcs ]] || fail "$h: $any of $srcs sources flagged"
  [[ $label -eq $(awk -F, -v c="$cls_col" -v l="$lab_col" -v h="$h" 'FNR > 1 && $c == h {print $l; exit}' "$D1" "$D2") ]] ||
    fail "$h: wrong label"
  # the same model in nnbpf's own float engine gives the same logits (1e-3),
  # and the verdicts are those logits at the model's min_margin (or argmax)
  "$NNBPF" compile "$d/model.onnx" -o "$d/compiled" > /dev/null || fail "$h: compile"
  "$NNBPF" infer "$d/compiled" --input "$d/test.csv" --engine float > "$d/float.txt" 2> /dev/null || fail "$h: infer"
  margin=$($PY -c '
import json, sys
r = [x for x in json.load(open(sys.argv[1]))["results"] if x["class"] == sys.argv[2]][0]
print("none" if r["min_margin"] is None else repr(r["min_margin"]))' "$WORK/r.json" "$h")
  paste -d, "$d/verdicts.txt" "$d/float.txt" | awk -F, -v m="$margin" '
    function abs(x) { return x < 0 ? -x : x }
    abs($2 - $5) > 1e-3 * (1 + abs($5)) || abs($3 - $6) > 1e-3 * (1 + abs($6)) {
      print "row " NR ": logits " $2 "," $3 " vs nnbpf float " $5 "," $6; bad = 1; exit }
    $1 != (m == "none" ? ($6 > $5) : ($6 - $5 > m)) { print "row " NR ": verdict " $1 " at margin " m; bad = 1; exit }
    END { exit bad }' || fail "$h: verdicts are not nnbpf infer --engine float's logits at the operating point"
  echo "loso: $h: $flows flows, $srcs sources, rate $rate ($([[ $label -eq 0 ]] && echo FPR || echo recall)), $any sources flagged"
done

# bad input: one line, exit 2
set +e
$PY "$GEN" --data "$D1" --work "$WORK/bad" --only no-such-class > /dev/null 2> "$WORK/bad.err"
rc=$?
set -e
[[ $rc -eq 2 ]] || fail "unknown class: exit $rc, expected 2"
[[ $(wc -l < "$WORK/bad.err") -eq 1 ]] && grep -q "no class 'no-such-class'" "$WORK/bad.err" || fail "unknown class: $(cat "$WORK/bad.err")"
echo "generalization: PASS"
