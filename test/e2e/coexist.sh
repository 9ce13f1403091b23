#!/usr/bin/env bash
# XDP coexistence (nnbpf run --attach libxdp) with xdp-filter (xdp-tools).
# Always:
# - nnbpf through libxdp blocks an intruder and passes benign traffic; killed
#   (SIGKILL) its attachment stays and keeps blocking; the next run takes it
#   over through the pinned entry (no gap, one slot); SIGINT detaches and
#   unpins;
# With libxdp's dispatcher (kernels that allow freplace programs):
# - xdp-filter and nnbpf share the interface: the port xdp-filter denies
#   (7000) is dropped, the intruder nnbpf blocks is dropped, benign traffic
#   passes; detaching nnbpf leaves xdp-filter attached and working.
# Without it (the kernel refuses BPF_PROG_TYPE_EXT, so libxdp falls back to
# single programs): nnbpf refuses to join xdp-filter in one line and
# changes nothing; the shared-interface part is reported NOT RUN (exit 77).
source "$(dirname "$0")/lib.bash"
command -v xdp-filter > /dev/null || fail "needs xdp-filter (Debian xdp-tools; tools/setup.sh)"
vx() { nsenter --net="/var/run/netns/$NS_V" "$@"; }  # keeps this mount namespace (bpffs pins)
trap 'vx xdp-filter unload "$IF_V" > /dev/null 2>&1 || true; cleanup' EXIT
setup_net
"$NNBPF" compile "$NNBPF_FIXTURES_DIR/port_gate.onnx" -o "$WORK/gate" --scale-bits 16 > /dev/null
start_servers 7000,8000,9999 120
conn() {  # port src count -> "ok=N fail=M"
  in_c $PY "$TRAFFIC" connect "$IP_V" "$1" --count "$3" --src "$2" --timeout 0.5
}
start_libxdp() {
  rm -f "$WORK/run.err"
  nsenter --net="/var/run/netns/$NS_V" "$NNBPF" run "$WORK/gate" --iface "$IF_V" --json --attach libxdp --xdp-priority 20 --block-ttl 120s \
    > "$WORK/events.jsonl" 2> "$WORK/run.err" &
  NNBPF_PID=$!; PIDS+=($NNBPF_PID)
  for _ in $(seq 1 100); do
    grep -q attached "$WORK/run.err" 2>/dev/null && return 0
    kill -0 "$NNBPF_PID" 2>/dev/null || { cat "$WORK/run.err"; fail "nnbpf run --attach libxdp exited"; }
    sleep 0.1
  done
  cat "$WORK/run.err"; fail "nnbpf did not attach through libxdp"
}

vx xdp-filter load "$IF_V" --mode native --policy allow > "$WORK/filter-load.txt" 2>&1 || { cat "$WORK/filter-load.txt"; fail "xdp-filter load"; }
vx xdp-filter port 7000 --mode dst || fail "xdp-filter port 7000"
[[ $(conn 7000 "$IP_C" 3) == "ok=0 fail=3" ]] || fail "xdp-filter alone does not drop port 7000"
vx xdp-loader status "$IF_V" | tee "$WORK/status0.txt"
dispatcher=no
grep -q xdp_dispatcher "$WORK/status0.txt" && dispatcher=yes
echo "libxdp dispatcher on this kernel: $dispatcher"

if [[ $dispatcher == yes ]]; then
  start_libxdp
  vx xdp-loader status "$IF_V" | tee "$WORK/status.txt"
  grep -q nnbpf_dispatch "$WORK/status.txt" || fail "nnbpf not in the dispatcher"
  grep -q xdpfilt "$WORK/status.txt" || fail "xdp-filter no longer in the dispatcher"
  benign=$(conn 8000 "$IP_C" 100)
  denied=$(conn 7000 "$IP_C" 5)
  in_c $PY "$TRAFFIC" connect "$IP_V" 9999 --count 1 --src "$IP_C2" --rst > /dev/null
  sleep 0.5
  intruder=$(conn 8000 "$IP_C2" 5)
  echo "shared: benign $benign; port 7000 (xdp-filter) $denied; blocked intruder $intruder; nnbpf dropped $(stat_of packets_dropped)"
  [[ $benign == "ok=100 fail=0" ]] || fail "benign traffic did not pass both programs"
  [[ $denied == "ok=0 fail=5" ]] || fail "port 7000 passed with nnbpf beside xdp-filter"
  [[ $intruder == "ok=0 fail=5" ]] || fail "the blocked intruder passed"
  stop_nnbpf
  vx xdp-loader status "$IF_V" | tee "$WORK/status2.txt"
  grep -q nnbpf_dispatch "$WORK/status2.txt" && fail "nnbpf still in the dispatcher after detaching"
  grep -q xdpfilt "$WORK/status2.txt" || fail "detaching nnbpf removed xdp-filter"
  after_denied=$(conn 7000 "$IP_C" 3); after_intruder=$(conn 8000 "$IP_C2" 3)
  echo "nnbpf detached: port 7000 $after_denied; former intruder $after_intruder"
  [[ $after_denied == "ok=0 fail=3" ]] || fail "xdp-filter stopped working when nnbpf detached"
  [[ $after_intruder == "ok=3 fail=0" ]] || fail "nnbpf's block outlived its detach"
else
  # xdp-filter holds the interface alone: joining it must fail cleanly.
  if vx "$NNBPF" run "$WORK/gate" --iface "$IF_V" --attach libxdp --duration 2 > /dev/null 2> "$WORK/refuse.err"; then
    fail "nnbpf --attach libxdp replaced a program attached without a dispatcher"
  fi
  cat "$WORK/refuse.err"
  grep -q "attached without libxdp's dispatcher" "$WORK/refuse.err" || fail "unclear refusal"
  [[ ! -e /sys/fs/bpf/nnbpf/$IF_V ]] || fail "a refused attach left pins"
  [[ $(conn 7000 "$IP_C" 3) == "ok=0 fail=3" && $(conn 8000 "$IP_C" 5) == "ok=5 fail=0" ]] || fail "the refusal disturbed xdp-filter"
fi
vx xdp-filter unload "$IF_V" || fail "xdp-filter unload"

# nnbpf through libxdp on its own: blocking, SIGKILL, take-over, detach.
start_libxdp
in_c $PY "$TRAFFIC" connect "$IP_V" 9999 --count 1 --src "$IP_C2" --rst > /dev/null
sleep 0.5
benign=$(conn 8000 "$IP_C" 50); intruder=$(conn 8000 "$IP_C2" 3)
echo "libxdp alone: benign $benign; blocked intruder $intruder"
[[ $benign == "ok=50 fail=0" && $intruder == "ok=0 fail=3" ]] || fail "nnbpf through libxdp"
kill -9 "$NNBPF_PID"; wait "$NNBPF_PID" 2>/dev/null || true
[[ $(conn 8000 "$IP_C2" 2) == "ok=0 fail=2" ]] || fail "the block lapsed when the daemon died"
start_libxdp
grep -q "taking over" "$WORK/run.err" || fail "the next run did not take over"
[[ $(vx xdp-loader status "$IF_V" | grep -c nnbpf_dispatch) -eq 1 ]] || fail "take-over added a second nnbpf program"
[[ $(conn 8000 "$IP_C2" 2) == "ok=0 fail=2" ]] || fail "the taken-over pipeline lost the block"
stop_nnbpf
[[ -e /sys/fs/bpf/nnbpf/$IF_V ]] && fail "pins left after detaching"
status=$(vx xdp-loader status "$IF_V"); grep -q nnbpf_dispatch <<< "$status" && fail "nnbpf still attached after SIGINT"
[[ $(conn 8000 "$IP_C2" 3) == "ok=3 fail=0" ]] || fail "traffic after detaching"

if [[ $dispatcher == no ]]; then
  echo "NOT RUN: sharing the interface with xdp-filter: this kernel refuses BPF_PROG_TYPE_EXT programs, so libxdp's dispatcher is unavailable (xdp-filter itself fell back to a single program)" >&2
  exit 77
fi
echo "coexist: PASS"
