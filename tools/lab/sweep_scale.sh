#!/usr/bin/env bash
# Scale of the idle sweep (docs/PERFORMANCE.md, "Idle sweep").
#
#   sudo flock /tmp/nnbpf-e2e.lock tools/lab/sweep_scale.sh [--nnbpf BIN]
#        [--flows "10000 100000 1000000"] [--idle S] [--measure S] [-- RUN-ARGS...]
#
# For each N: `nnbpf run` (BIN, default build/bin/nnbpf; the bundled model
# examples/models/nnbpf-lab.onnx compiled by BIN, --monitor, --idle-timeout S
# (default 30), --max-flows 5/4 N, RUN-ARGS) on a veth in a namespace of its
# own, with no traffic. Then:
#   1. steady state: N tracked TCP flows written into the pinned flow table
#      (tools/lab/sweep_flows.py, last packet now: none idle); the daemon's
#      CPU time (utime + stime, /proc/PID/stat) over --measure seconds
#      (default 10) as a share of one core;
#   2. all idle at once: the same N flows written again with their last
#      packet S - 1 s ago, so all go idle one second later; the time from
#      then until the pipeline has classified all N (NNBPF_STAT_FLOWS_ENDED,
#      at most 300 s), and the daemon's CPU time meanwhile.
#   3. the in-kernel walk alone, if the pipeline has one (nnbpf_sweep_scan
#      pinned): its mean duration over 5 test runs with no flow due.
# Prints one tab-separated row per N: N, steady CPU %, time to classify (s),
# CPU for it (s), classified, walk (ms; "-" without an in-kernel walk).
# CPU shares are of the time the daemon was given: on a loaded machine a
# busy daemon gets less than a core. Always removes its namespace, daemon
# and pins.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NNBPF=$ROOT/build/bin/nnbpf
FLOWS="10000 100000 1000000"
IDLE=30
MEASURE=10
RUN_ARGS=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --nnbpf) NNBPF=$2; shift 2 ;;
    --flows) FLOWS=$2; shift 2 ;;
    --idle) IDLE=$2; shift 2 ;;
    --measure) MEASURE=$2; shift 2 ;;
    --) shift; RUN_ARGS=("$@"); break ;;
    *) echo "sweep_scale.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ $EUID -eq 0 ]] || { echo "sweep_scale.sh: needs root (netns, XDP)" >&2; exit 1; }
PY=/usr/bin/python3
FLOWPY=$ROOT/tools/lab/sweep_flows.py
NS=nnbpf-swscale
IF=nnbpfsw0
PIN=/sys/fs/bpf/nnbpf/$IF
WORK=$(mktemp -d /tmp/nnbpf-sweep-scale.XXXXXX)
PID=

stop_daemon() {
  [[ -n $PID ]] || return 0
  kill -INT "$PID" 2> /dev/null || true
  local _
  for _ in $(seq 1 300); do
    kill -0 "$PID" 2> /dev/null || { PID=; return 0; }
    sleep 0.1
  done
  kill -KILL "$PID" 2> /dev/null || true
  wait "$PID" 2> /dev/null || true
  PID=
}
cleanup() {
  stop_daemon
  ip netns del "$NS" 2> /dev/null || true
  rm -rf "$PIN" "/run/nnbpf/$IF" "$WORK"
}
trap cleanup EXIT

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
TCK=$(getconf CLK_TCK)

"$NNBPF" compile "$ROOT/examples/models/nnbpf-lab.onnx" -o "$WORK/model" > /dev/null
ip netns add "$NS"
ip -n "$NS" link add "$IF" type veth peer name "${IF}p"
ip -n "$NS" link set "$IF" up
ip -n "$NS" link set "${IF}p" up

printf 'flows\tsteady_cpu_pct\tclassify_s\tclassify_cpu_s\tclassified\twalk_ms\n'
for n in $FLOWS; do
  max=$((n * 5 / 4 > 65536 ? n * 5 / 4 : 65536))
  nsenter --net="/var/run/netns/$NS" "$NNBPF" run "$WORK/model" --iface "$IF" --monitor \
    --idle-timeout "${IDLE}s" --max-flows "$max" "${RUN_ARGS[@]}" > /dev/null 2> "$WORK/err" &
  PID=$!
  for _ in $(seq 1 100); do
    [[ -e $PIN/link ]] && grep -q attached "$WORK/err" && break
    kill -0 "$PID" 2> /dev/null || { cat "$WORK/err" >&2; exit 1; }
    sleep 0.1
  done
  [[ -e $PIN/link ]] || { cat "$WORK/err" >&2; echo "nnbpf run did not attach" >&2; exit 1; }

  # 1. Steady state: N flows, none idle.
  "$PY" "$FLOWPY" fill "$PIN" "$n" > /dev/null
  sleep 2
  c0=$(cpu_ticks "$PID")
  t0=$EPOCHREALTIME
  sleep "$MEASURE"
  c1=$(cpu_ticks "$PID")
  t1=$EPOCHREALTIME
  steady=$(awk -v c="$((c1 - c0))" -v k="$TCK" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", 100 * c / k / (b - a) }')

  # 2. All idle one second from now.
  read -r ended0 _ < <("$PY" "$FLOWPY" ended "$PIN")
  last=$("$PY" "$FLOWPY" fill "$PIN" "$n" --age-s "$((IDLE - 1))")
  idle_at=$(awk -v l="$last" -v i="$IDLE" 'BEGIN { printf "%.3f", l + i }')
  c0=$(cpu_ticks "$PID")
  done_n=0
  now=$idle_at
  for _ in $(seq 1 3000); do
    read -r ended now < <("$PY" "$FLOWPY" ended "$PIN")
    done_n=$((ended - ended0))
    [[ $done_n -ge $n ]] && break
    sleep 0.1
  done
  c1=$(cpu_ticks "$PID")
  secs=$(awk -v a="$idle_at" -v b="$now" 'BEGIN { printf "%.2f", b - a }')
  cpu=$(awk -v c="$((c1 - c0))" -v k="$TCK" 'BEGIN { printf "%.2f", c / k }')
  # 3. The walk alone (the table refilled, none due).
  walk=-
  if [[ -e $PIN/nnbpf_sweep_scan ]]; then
    "$PY" "$FLOWPY" fill "$PIN" "$n" > /dev/null
    read -r walk _ < <("$PY" "$FLOWPY" scan "$PIN" 5)
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$steady" "$secs" "$cpu" "$done_n" "$walk"
  stop_daemon
  rm -rf "$PIN" "/run/nnbpf/$IF"
done
