#!/usr/bin/env bash
# The offline evaluation report end to end on the shared data (quick mode:
# fewer sweep points, the same main models): trains, compiles, checks and runs
# every model in the kernel, and must meet its targets (--strict): NN-int32
# kernel F1 >= 0.995, kernel = float verdict on >= 99.9 % of held-out flows,
# kernel = reference on every row of every model, every model checks.
source "$(dirname "$0")/lib.bash"
require_root_bpf
require_repro_data

OUT=$WORK/report
$PY "$NNBPF_SOURCE_DIR/tools/report/offline.py" --quick --strict --data "$REPRO_DATA" \
    --nnbpf "$NNBPF" --out "$OUT" 2> "$WORK/report.log" || { tail -n 20 "$WORK/report.log"; fail "report"; }
grep -E "^offline.py: (ok|MISSED)" "$WORK/report.log"
for f in offline.md offline.json offline-ecdf.png offline-bsweep.png offline-confusion.png offline-cost.png; do
  [[ -s $OUT/$f ]] || fail "report did not write $f"
done
# The headline table has a row per main model, each with numbers.
for m in "NN-int32 (paper)" "NN-int8" "DT depth 10" "Linear SVM"; do
  grep -qF "| $m | " "$OUT/offline.md" || fail "headline row for $m missing"
done
! grep -q "## Steps that failed" "$OUT/offline.md" || fail "report lists failed steps"
