#!/usr/bin/env bash
# Overhead of nnbpf on real TCP transfers (paper Table VIII, Fig. 9).
#
#   sudo tools/lab/overhead.sh [--out DIR] [--reps R] [--flows "1 2 4 ... 128"]
#                              [--mb 10] [--mode native|generic] [--quick]
#
# Two namespaces joined by a veth pair; an iperf3 server in the victim
# namespace; N concurrent iperf3 TCP flows of --mb MB each (N = 1, 2, 4, ...,
# 128) from the client. Each point is measured in three conditions,
# interleaved (the order rotates between repetitions), R repetitions
# (default 5; --quick: 1 repetition, N = 1, 8, 64):
#   WO  nothing attached;
#   E   an empty XDP program (XDP_PASS) attached natively: what attaching any
#       XDP program to a veth costs (the kernel then turns off GSO on the
#       peer, so the client sends MTU-sized packets instead of 64 KB ones);
#   W   nnbpf run attached to the victim's veth.
# nnbpf runs the bundled model (examples/models/nnbpf-repro-top6.onnx,
# compiled here) with --monitor: every flow is parsed, tracked and classified
# exactly as in prevention mode, but nothing is dropped, so a flow the model
# happened to call an intrusion cannot stall the transfer being timed (the
# flagged flows are counted). iperf3 -P N -n N*MB sends N x MB in total over
# N streams (it splits the total unevenly between them). Transmission time =
# from starting the iperf3 client until none of its connections is still
# sending (overhead_iperf.py): iperf3 -n exits once the bytes are written into
# its sockets, before the kernel has delivered them.
#
# After the timed runs, one more W run per N with the kernel's BPF run-time
# statistics on (nnbpf run --bpf-stats; kept off for the timed runs since
# they cost every BPF program two clock reads) gives FEPP (feature extraction
# per packet), IPF (inference per flow) and the BPF CPU share from
# nnbpf stats --programs (docs/stats.md).
#
# Writes to DIR (default /tmp/nnbpf-overhead): overhead_runs.csv (every
# measurement), overhead_bpf.csv (the accounting runs), overhead.csv
# (medians per N), overhead.md (table), overhead.png (plot). Installs iperf3 and
# matplotlib if missing (tools/packages.txt: overhead). Always removes its
# namespaces, processes and pins.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NNBPF=${NNBPF:-$ROOT/build/bin/nnbpf}
OUT=/tmp/nnbpf-overhead
REPS=5
FLOWS="1 2 4 8 16 32 64 128"
MB=10
MODE=native
ARGS="$*"
while (($#)); do
  case $1 in
    --out) OUT=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --flows) FLOWS=$2; shift 2 ;;
    --mb) MB=$2; shift 2 ;;
    --mode) MODE=$2; shift 2 ;;
    --quick) REPS=1; FLOWS="1 8 64"; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "overhead.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ $REPS =~ ^[1-9][0-9]*$ ]] || { echo "overhead.sh: --reps must be a positive integer" >&2; exit 2; }
[[ $MB =~ ^[1-9][0-9]*$ ]] || { echo "overhead.sh: --mb must be a positive integer" >&2; exit 2; }
for n in $FLOWS; do
  [[ $n =~ ^[1-9][0-9]*$ && $n -le 128 ]] || { echo "overhead.sh: flow count '$n' not in 1..128 (iperf3 -P limit)" >&2; exit 2; }
done
[[ $MODE == native || $MODE == generic ]] || { echo "overhead.sh: --mode must be native or generic" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "overhead.sh: needs root (namespaces, XDP)" >&2; exit 1; }

source "$ROOT/tools/packages.bash"
ensure_packages overhead || { echo "overhead.sh: cannot install its packages (tools/packages.txt: overhead)" >&2; exit 1; }
[[ -x $NNBPF ]] || "$ROOT/tools/setup.sh"
PY=/usr/bin/python3

TAG=ovh$$
NS_C=${TAG}c
NS_V=${TAG}v
IF_C=ov${$}c
IF_V=ov${$}v
NET=$((RANDOM % 200 + 20))
IP_V=10.78.$NET.1
IP_C=10.78.$NET.2
PORT=5201
WORK=$(mktemp -d /tmp/nnbpf-overhead.XXXXXX)
NNBPF_PID=
source "$ROOT/tools/harness.bash"
harness_trap
harness_on_exit 'ip -n "$NS_V" link set dev "$IF_V" xdp off'
harness_pins "$IF_V"
harness_dirs "$WORK"
die() { echo "overhead.sh: $*" >&2; exit 1; }

harness_netns "$NS_C" "$NS_V"
harness_veth "$NS_C" "$IF_C" "$NS_V" "$IF_V"
ip -n "$NS_C" addr add "$IP_C/24" dev "$IF_C"
ip -n "$NS_V" addr add "$IP_V/24" dev "$IF_V"

"$NNBPF" compile "$ROOT/examples/models/nnbpf-repro-top6.onnx" -o "$WORK/model" > /dev/null
# Condition E: the smallest XDP program.
printf '%s\n' '__attribute__((section("xdp"), used)) int pass(void *ctx) { return 2; /* XDP_PASS */ }' \
  'char _license[] __attribute__((section("license"), used)) = "GPL";' > "$WORK/empty.c"
clang-19 -O2 -g -target bpf -c "$WORK/empty.c" -o "$WORK/empty.o"
xdp_flag=xdpdrv
[[ $MODE == generic ]] && xdp_flag=xdpgeneric
ip netns exec "$NS_V" iperf3 -s -p $PORT > "$WORK/iperf3-server.log" 2>&1 &
harness_track $!
for _ in $(seq 1 50); do ip netns exec "$NS_C" bash -c "exec 3<>/dev/tcp/$IP_V/$PORT" 2> /dev/null && break; sleep 0.1; done

start_nnbpf() {  # extra args (events as JSON lines in $WORK/events.jsonl)
  harness_start "$NS_V" "$WORK/run.err" "$NNBPF" run "$WORK/model" --iface "$IF_V" --mode "$MODE" --monitor --json \
    "$@" > "$WORK/events.jsonl" || die "nnbpf run did not attach"
  NNBPF_PID=$HARNESS_PID
}
stop_nnbpf() { harness_stop "$NNBPF_PID" 10 || die "nnbpf run did not stop"; }
nnbpf_v() { nsenter --net="/var/run/netns/$NS_V" "$NNBPF" "$@"; }

# One transfer: N flows of MB each; prints the seconds until every byte was
# delivered and the bytes sent (overhead_iperf.py).
transfer() {  # n
  local n=$1
  for try in 1 2 3; do
    ip netns exec "$NS_C" $PY "$ROOT/tools/lab/overhead_iperf.py" "$IP_V" $PORT "$n" "$MB" 2> "$WORK/iperf.err" && return 0
    sleep 1
  done
  die "iperf3 with $n flows failed 3 times: $(cat "$WORK/iperf.err")"
}

RUNS=$WORK/overhead_runs.csv
echo "n_flows,rep,cond,seconds,bytes,flows_classified,flows_flagged" > "$RUNS"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "overhead.sh: $REPS repetition(s) of N = $FLOWS, $MB MB per flow, $MODE XDP on $IF_V; load $LOAD0"
for ((rep = 0; rep < REPS; rep++)); do
  for n in $FLOWS; do
    case $((rep % 3)) in
      0) conds=(WO E W) ;;
      1) conds=(E W WO) ;;
      2) conds=(W WO E) ;;
    esac
    for cond in "${conds[@]}"; do
      classified=0 flagged=0
      if [[ $cond == E ]]; then
        ip -n "$NS_V" link set dev "$IF_V" $xdp_flag obj "$WORK/empty.o" sec xdp
        xfer=$(transfer "$n"); read -r secs bytes <<< "$xfer"
        ip -n "$NS_V" link set dev "$IF_V" $xdp_flag off
      elif [[ $cond == W ]]; then
        start_nnbpf
        xfer=$(transfer "$n"); read -r secs bytes <<< "$xfer"
        sleep 0.2
        read -r classified flagged < <(nnbpf_v stats --iface "$IF_V" --json |
          $PY -c "import json,sys; j=json.load(sys.stdin); print(j['inferences'], j['intrusions'])")
        stop_nnbpf
      else
        xfer=$(transfer "$n"); read -r secs bytes <<< "$xfer"
      fi
      echo "$n,$rep,$cond,$secs,$bytes,$classified,$flagged" >> "$RUNS"
      printf '  rep %d  N=%-3d %-2s %8.3f s  (%d flows classified, %d flagged)\n' "$rep" "$n" "$cond" "$secs" "$classified" "$flagged"
    done
  done
done

# Kernel accounting: one more W transfer per N with BPF statistics on; the
# ring buffer's per-flow timings (ns_infer, ns_extract) and verdicts from the
# same run. The iperf3 server resets the streams whose tail is still in
# flight when the test ends (no FIN from the client), so this run also has
# an idle sweep (3 s: longer than any stall of a stream during the transfer,
# which would split it in two) and waits for it: every flow is classified
# once.
ACCT=$WORK/overhead_bpf.csv
echo "n_flows,seconds,packets,ns_per_packet,fepp_ns,ipf_ns,inferences,bpf_run_time_ns,cpus,infer_ns_median,extract_ns_median,flows_classified,flows_flagged" > "$ACCT"
for n in $FLOWS; do
  for try in 1 2; do
    start_nnbpf --bpf-stats --idle-timeout 3s
    xfer=$(transfer "$n"); read -r secs _ <<< "$xfer"
    sleep 4
    nnbpf_v stats --iface "$IF_V" --programs --json > "$WORK/progs.json"
    stop_nnbpf
    row=$($PY "$ROOT/tools/lab/overhead_report.py" --accounting "$WORK/progs.json" "$WORK/events.jsonl" "$n" "$secs")
    [[ $(cut -d, -f3 <<< "$row") -gt 0 ]] && break
    echo "  bpf_stats N=$n: no packets accounted, once more" >&2
  done
  echo "$row" >> "$ACCT"
  awk -F, '{printf "  bpf_stats N=%-3d %d packets, FEPP %.0f ns, IPF %.0f ns (mean of %d), median ns_infer %s of %d flows (%d flagged)\n", $1, $3, $5, $6, $7, $10, $12, $13}' <<< "$row"
done

mkdir -p "$OUT"
cp "$RUNS" "$ACCT" "$OUT/"
$PY "$ROOT/tools/lab/overhead_report.py" --runs "$OUT/overhead_runs.csv" --bpf "$OUT/overhead_bpf.csv" \
  --out "$OUT" --mb "$MB" --mode "$MODE" --command "tools/lab/overhead.sh${ARGS:+ $ARGS}" \
  --load "$LOAD0 -> $(cut -d' ' -f1-3 /proc/loadavg)"
echo "overhead.sh: wrote $OUT/overhead.csv, overhead.md, overhead.png (and the raw overhead_runs.csv, overhead_bpf.csv)"
