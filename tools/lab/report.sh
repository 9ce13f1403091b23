#!/usr/bin/env bash
# The online evaluation (paper §V-C, Table VII, Fig. 7), end to end:
#
#   sudo tools/lab/report.sh [--scale PCT] [--out docs/report/online.md] [--reuse-dataset]
#
# 1. tools/lab/dataset.sh: capture day 1 and day 2, train on day 1 (build/lab/);
#    --reuse-dataset skips this when build/lab/ has them;
# 2. deploys the day-1 model with `nnbpf run` on the victim's interface,
#    blocking on, and replays day 2 (same seed, order, pacing);
# 3. tools/lab/evaluate.py report: per-class accuracy, F1, MTTF, blocking per
#    source, plots -> docs/report/online.md + PNGs.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NNBPF=${NNBPF:-$ROOT/build/bin/nnbpf}
LAB_NAME=report
SCALE=100
OUT=$ROOT/docs/report/online.md
REUSE=0
DS=$ROOT/build/lab
IDLE=3s
while (($#)); do
  case $1 in
    --scale) SCALE=${2:?}; shift 2 ;;
    --out) OUT=${2:?}; shift 2 ;;
    --reuse-dataset) REUSE=1; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "report.sh: error: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "report.sh: needs root" >&2; exit 1; }
"$ROOT/tools/setup.sh" > /dev/null
source "$ROOT/tools/lab/lib.bash"
T0=$(date +%s)
cleanup() { set +e; nnbpf_stop; lab down; }
trap cleanup EXIT
lab up
lab_env
if ((REUSE)) && [[ -f $DS/lab-model.onnx && -f $DS/day2.csv ]]; then
  echo "== reusing $DS"
  "$NNBPF" compile "$DS/lab-model.onnx" -o "$DS/lab-model" > /dev/null
else
  NNBPF=$NNBPF "$ROOT/tools/lab/dataset.sh" --name "$LAB_NAME" --out "$DS" --scale "$SCALE" --idle-timeout "$IDLE"
fi

ON=$DS/online
rm -rf "$ON"
mkdir -p "$ON"
RUN_ARGS="--block-ttl 600s --idle-timeout $IDLE"
echo "== online: day-1 model on $LAB_VICTIM_IF ($RUN_ARGS), replaying day 2: $(cat "$DS/day2.args")"
nnbpf_start "$DS/lab-model" "$ON/events.jsonl" "$ON/run.err" $RUN_ARGS
lab run $(cat "$DS/day2.args") --out "$ON" > /dev/null
sleep $((${IDLE%s} * 2 + 1))
lab victim "$NNBPF" stats --iface "$LAB_VICTIM_IF" --json > "$ON/stats.json"
nnbpf_stop
"$LAB_PY" "$ROOT/tools/lab/evaluate.py" online --events "$ON/events.jsonl" --labels "$ON/labels" --scenarios "$ON/scenarios.tsv"

cat > "$ON/meta.json" <<JSON
{"date": "$(date -u +%Y-%m-%dT%H:%MZ)", "kernel": "$(uname -r)",
 "capture": "\`nnbpf capture\`",
 "features": "$(cat "$DS/features")", "run_args": "nnbpf run lab-model --iface $LAB_VICTIM_IF $RUN_ARGS",
 "minutes": "$(( ($(date +%s) - T0 + 59) / 60 ))"}
JSON
"$LAB_PY" "$ROOT/tools/lab/evaluate.py" report --dataset "$DS" --online "$ON" --out "$OUT"
