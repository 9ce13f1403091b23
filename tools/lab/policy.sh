#!/usr/bin/env bash
# Measures nnbpf run's blocking policy in the live lab (docs/run.md,
# "Blocking policy"): the numbers behind its defaults.
#
#   sudo tools/lab/policy.sh [--name NAME] [--net N] [--model ONNX] [--seed S] [--out DIR]
#                            [--idle-timeout 3s] [--only "monitor before after abstain"]
#
# 1. `nnbpf run --monitor --abstain-outside-ranges` with MODEL compiled for
#    every protocol, while every lab scenario runs at once (lab.sh run
#    --concurrent all): every flow's verdict, margin and unsure flag;
# 2. tools/lab/policy_sim.py replays those verdicts through the kernel's
#    evidence arithmetic for a grid of K, share, window and margin
#    (DIR/grid.txt), with and without the model's domain;
# 3. three real runs with blocking on, same seed: "before" (one verdict
#    blocks, every protocol judged: --block-after 1 --min-share 0 and a model
#    compiled with --protocols tcp,udp), "after" (nnbpf run's defaults and the
#    model's own domain), "after, abstaining" (--abstain-outside-ranges):
#    tools/lab/evaluate.py online per run (DIR/{before,after,abstain}.txt),
#    time to block from each attack's launch and from its first packet at
#    the victim (tcpdump, lib.bash first_packets_start).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NNBPF=${NNBPF:-$ROOT/build/bin/nnbpf}
LAB_NAME=policy
NET=
MODEL=$ROOT/examples/models/nnbpf-lab.onnx
SEED=3
OUT=$ROOT/build/lab-policy
IDLE=3s
ONLY="monitor before after abstain"
while (($#)); do
  case $1 in
    --name) LAB_NAME=${2:?}; shift 2 ;;
    --net) NET=${2:?}; shift 2 ;;
    --model) MODEL=${2:?}; shift 2 ;;
    --seed) SEED=${2:?}; shift 2 ;;
    --out) OUT=${2:?}; shift 2 ;;
    --idle-timeout) IDLE=${2:?}; shift 2 ;;
    --only) ONLY=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "policy.sh: error: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ $IDLE =~ ^[0-9]+s$ ]] || { echo "policy.sh: error: --idle-timeout '$IDLE': expected whole seconds, e.g. 3s" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "policy.sh: needs root" >&2; exit 1; }
source "$ROOT/tools/lab/lib.bash"
export NNBPF_ATTACH_WAIT=${NNBPF_ATTACH_WAIT:-90}  # a loaded machine verifies slowly
lab() { "$LAB_SH" --name "$LAB_NAME" ${NET:+--net "$NET"} "$@"; }
cleanup() { set +e; first_packets_stop; nnbpf_stop; lab down > /dev/null 2>&1; }
trap cleanup EXIT
rm -rf "$OUT"
mkdir -p "$OUT"
lab up > /dev/null
lab_env

"$NNBPF" compile "$MODEL" -o "$OUT/model-all" --protocols tcp,udp > /dev/null
"$NNBPF" compile "$MODEL" -o "$OUT/model" > "$OUT/model.txt"
grep "^domain:" "$OUT/model.txt"

replay() {  # name dir args...: one lab run under nnbpf run, then its online evaluation
  local name=$1 dir=$2
  shift 2
  echo "== $name: nnbpf run $(basename "$dir") $*"
  nnbpf_start "$dir" "$OUT/$name.jsonl" "$OUT/$name.err" --idle-timeout "$IDLE" --block-ttl 600s "$@"
  first_packets_start "$OUT/$name.first" all
  lab run --seed "$SEED" --concurrent all --out "$OUT/$name" > /dev/null
  sleep $((${IDLE%s} * 2 + 1))
  first_packets_stop
  lab victim "$NNBPF" stats --iface "$LAB_VICTIM_IF" --json > "$OUT/$name.stats.json"
  nnbpf_stop
  "$LAB_PY" "$ROOT/tools/lab/evaluate.py" online --events "$OUT/$name.jsonl" --labels "$OUT/$name/labels" \
    --scenarios "$OUT/$name/scenarios.tsv" --first-packets "$OUT/$name.first" --json "$OUT/$name.json" |
    tee "$OUT/$name.txt"
}

want() { [[ " $ONLY " == *" $1 "* ]]; }
want monitor && replay monitor "$OUT/model-all" --monitor --abstain-outside-ranges
want monitor && for protos in tcp tcp,udp; do
  echo "== grid, domain $protos" | tee -a "$OUT/grid.txt"
  "$LAB_PY" "$ROOT/tools/lab/policy_sim.py" --events "$OUT/monitor.jsonl" --scenarios "$OUT/monitor/scenarios.tsv" \
    --protocols "$protos" --k 1,2,3,4,5 --share 0,0.25,0.5,0.75 --window 5,10,30 --abstain 0,1 \
    --json "$OUT/grid-${protos/,/-}.json" >> "$OUT/grid.txt"
done
want before && replay before "$OUT/model-all" --block-after 1 --min-share 0
want after && replay after "$OUT/model"
want abstain && replay abstain "$OUT/model" --abstain-outside-ranges
echo "policy.sh: results in $OUT"
