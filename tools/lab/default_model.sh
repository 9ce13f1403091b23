#!/usr/bin/env bash
# The default model (examples/models/nnbpf-lab.onnx) from captured lab days
# (tools/lab/dataset.sh's day1.csv, day2.csv, day3.csv):
#
#   tools/lab/default_model.sh DAY.csv DAY.csv ... [--cap N] [--out-dir DIR]
#
# Every day's rows in one file, balanced by tools/lab/evaluate.py balance
# (--cap, default 120, flows per class: the training file ships in the
# repository) into DIR/nnbpf-lab.train.csv, then the documented training
# command (examples/models/README.md) writes DIR/nnbpf-lab.onnx. DIR defaults
# to examples/models. Prints the sha256 of the inputs and outputs.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
export PYTHONPATH=$ROOT/examples/train${PYTHONPATH:+:$PYTHONPATH}  # the Python package
CAP=120
DIR=examples/models
DAYS=()
while (($#)); do
  case $1 in
    --cap) CAP=${2:?}; shift 2 ;;
    --out-dir) DIR=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "default_model.sh: error: unknown option '$1'" >&2; exit 2 ;;
    *) DAYS+=("$1"); shift ;;
  esac
done
((${#DAYS[@]} >= 1)) || { echo "default_model.sh: error: expected DAY.csv files" >&2; exit 2; }
for d in "${DAYS[@]}"; do
  [[ -f $d ]] || { echo "default_model.sh: error: $d: no such file" >&2; exit 2; }
  [[ $(head -n 1 "$d") == "$(head -n 1 "${DAYS[0]}")" ]] ||
    { echo "default_model.sh: error: $d: header differs from ${DAYS[0]}'s" >&2; exit 2; }
done
[[ $CAP =~ ^[0-9]+$ ]] && ((CAP >= 1)) || { echo "default_model.sh: error: --cap '$CAP': expected a positive count" >&2; exit 2; }
cd "$ROOT"
mkdir -p "$DIR"
TMP=$(mktemp -d /tmp/nnbpf-default.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
{ cat "${DAYS[0]}"; for d in "${DAYS[@]:1}"; do tail -n +2 "$d"; done; } > "$TMP/both.csv"
$PY tools/lab/evaluate.py balance --in "$TMP/both.csv" --out "$DIR/nnbpf-lab.train.csv" --cap "$CAP" --seed 1
# The documented command (examples/models/README.md), run from the repository root.
$PY examples/train/train.py --data "$DIR/nnbpf-lab.train.csv" --out "$DIR/nnbpf-lab.onnx" --seed 1 --epochs 200 \
  --batch-size 32 --target-fpr 0.01 --quiet
sha256sum "${DAYS[@]}" "$DIR/nnbpf-lab.train.csv" "$DIR/nnbpf-lab.onnx"
