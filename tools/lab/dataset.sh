#!/usr/bin/env bash
# Two "days" of lab traffic captured into flow CSVs, a model trained on day 1
# and tested on day 2 (docs/lab.md):
#
#   tools/lab/dataset.sh [--name NAME] [--out DIR] [--scale PCT] [--idle-timeout S]
#                        [--features a,b,...] [--epochs N] [--cap N] [--days 1,2[,3]]
#                        [SCENARIO|all ...]
#
# Day 1: seed 1, shuffled order, 1 s between scenarios, counts at --scale.
# Day 2: seed 2, another order, 0.3 s gaps, counts at 70 % of --scale.
# Day 3 (only when --days names it): seed 3, every scenario at once (as in
# tools/demo.sh: timings under load), counts at 60 % of --scale.
# --days (default 1,2): the days to capture now; when they include day 1 or
# 2, the training and day-2 evaluation below run on DIR/day1.csv and
# DIR/day2.csv (made now or by an earlier run).
# Writes DIR/day1.csv, DIR/day2.csv (one row per ended flow: the 24 catalog
# features, label, class, src, dst, sport, dport, proto, end, ts_ns), DIR/day{1,2}/
# (labels, scenarios.tsv), DIR/day1-train.csv (day 1 with at most --cap flows
# per class, default 300: scans would otherwise be most of it), DIR/day{1,2}.args (lab.sh run's arguments), DIR/lab-model.onnx (examples/train/train.py on
# day 1) and DIR/lab-model-day2-{float,kernel}.txt (its verdicts on day 2). Brings the lab
# up (and down again) unless it is already up. Needs root. The model reads
# --features (default all: the 24 catalog features); a model on the paper's
# top-6 features (lab-model-top6.*) is trained too, for comparison. Training:
# train.py --batch-size 32 --epochs 200 (the balanced set has a few hundred rows).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NNBPF=${NNBPF:-$ROOT/build/bin/nnbpf}
LAB_NAME=lab
OUT=$ROOT/build/lab
SCALE=100
IDLE=3s
FEATURES=all
TOP6=fwd_pkt_len_max,fwd_iat_max_ns,fwd_pkt_len_min,dst_port,fwd_header_len,fwd_pkt_count
EPOCHS=200
CAP=300
SCEN=()
DAYS=1,2
while (($#)); do
  case $1 in
    --name) LAB_NAME=${2:?}; shift 2 ;;
    --out) OUT=${2:?}; shift 2 ;;
    --scale) SCALE=${2:?}; shift 2 ;;
    --idle-timeout) IDLE=${2:?}; shift 2 ;;
    --features) FEATURES=${2:?}; shift 2 ;;
    --epochs) EPOCHS=${2:?}; shift 2 ;;
    --cap) CAP=${2:?}; shift 2 ;;
    --days) DAYS=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "dataset.sh: error: unknown option '$1'" >&2; exit 2 ;;
    *) SCEN+=("$1"); shift ;;
  esac
done
((${#SCEN[@]})) || SCEN=(all)
[[ $SCALE =~ ^[0-9]+$ ]] && ((SCALE >= 1)) || { echo "dataset.sh: error: --scale '$SCALE': expected a positive percent" >&2; exit 2; }
[[ $IDLE =~ ^[0-9]+s$ ]] || { echo "dataset.sh: error: --idle-timeout '$IDLE': expected whole seconds, e.g. 5s" >&2; exit 2; }
[[ $DAYS =~ ^[123](,[123])*$ ]] || { echo "dataset.sh: error: --days '$DAYS': expected a comma list of 1, 2, 3" >&2; exit 2; }
has_day() { [[ ,$DAYS, == *,$1,* ]]; }
[[ -x $NNBPF ]] || { echo "dataset.sh: error: $NNBPF not built (tools/setup.sh)" >&2; exit 2; }
source "$ROOT/tools/lab/lib.bash"

OWN_LAB=0
cleanup() {
  set +e
  nnbpf_stop
  ((OWN_LAB)) && lab down
}
trap cleanup EXIT
if ! lab env > /dev/null 2>&1; then lab up; OWN_LAB=1; fi
lab_env
mkdir -p "$OUT"
lab labels "${SCEN[@]}" > "$OUT/labels"

capture_day() {  # day seed scale gap|concurrent
  local day=$1 seed=$2 scale=$3 gap=$4 w=$OUT/day$1 pace
  rm -rf "$w"
  mkdir -p "$w"
  echo "== day $day: seed $seed, scale $scale %, $([[ $gap == concurrent ]] && echo "all at once" || echo "gap ${gap}s")"
  capture_start "$w/capture" "$OUT/labels" "$IDLE"
  [[ $gap == concurrent ]] && pace=--concurrent || pace="--shuffle --gap $gap"
  echo "--seed $seed --scale $scale $pace ${SCEN[*]}" > "$OUT/day$day.args"
  lab run $(cat "$OUT/day$day.args") --out "$w" > /dev/null
  # Flows that never end (scans, UDP) are classified after the idle timeout.
  sleep "$(($(sed 's/[a-z]*$//' <<< "$IDLE") * 2 + 1))"
  capture_stop "$w/capture" "$OUT/day$day.csv"
}
has_day 1 && capture_day 1 1 "$SCALE" 1
has_day 2 && capture_day 2 2 "$((SCALE * 7 / 10 > 0 ? SCALE * 7 / 10 : 1))" 0.3
has_day 3 && capture_day 3 3 "$((SCALE * 6 / 10 > 0 ? SCALE * 6 / 10 : 1))" concurrent
# Training and the day-2 evaluation when this run captured day 1 or day 2.
{ has_day 1 || has_day 2; } && [[ -f $OUT/day1.csv && -f $OUT/day2.csv ]] || { echo "$OUT"; exit 0; }

echo "== train on day 1, test on day 2"
"$LAB_PY" "$ROOT/tools/lab/evaluate.py" balance --in "$OUT/day1.csv" --out "$OUT/day1-train.csv" --cap "$CAP" | sed 's/^/  day-1 training set: /'
train() {  # name features
  local feat=()
  [[ $2 == all ]] || feat=(--features "$2")
  "$LAB_PY" "$ROOT/examples/train/train.py" --data "$OUT/day1-train.csv" --out "$OUT/$1.onnx" "${feat[@]}" \
    --seed 1 --epochs "$EPOCHS" --batch-size 32 --quiet --metrics-out "$OUT/$1-holdout.json" 2> /dev/null |
    grep -E '^(accuracy|confusion)' | sed "s/^/  $1, day-1 hold-out: /"
  "$NNBPF" compile "$OUT/$1.onnx" -o "$OUT/$1" > /dev/null
  "$NNBPF" infer "$OUT/$1" --input "$OUT/day2.csv" --engine float > "$OUT/$1-day2-float.txt" 2> /dev/null
  "$NNBPF" infer "$OUT/$1" --input "$OUT/day2.csv" --engine kernel > "$OUT/$1-day2-kernel.txt" 2> /dev/null
  "$LAB_PY" "$ROOT/tools/lab/evaluate.py" offline --data "$OUT/day2.csv" --verdicts "$OUT/$1-day2-kernel.txt" |
    sed "s/^/  $1, day 2 (kernel): /"
}
# The deployed model reads the features --features names (default: all 24);
# the paper's top-6 model is trained too, for comparison.
train lab-model "$FEATURES"
[[ $FEATURES == "$TOP6" ]] || train lab-model-top6 "$TOP6"
echo "$FEATURES" > "$OUT/features"
echo "$OUT"
