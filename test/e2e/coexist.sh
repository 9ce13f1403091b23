#!/usr/bin/env bash
# XDP coexistence (nnbpf run --attach libxdp): xdp-filter (xdp-tools) and
# nnbpf share the victim's interface through libxdp's dispatcher.
# - a port xdp-filter denies (7000) is dropped, by xdp-filter;
# - an intruder nnbpf blocks is dropped, by nnbpf;
# - benign traffic passes both;
# - nnbpf killed (SIGKILL): its slot stays and keeps blocking; the next run
#   takes it over (no gap);
# - nnbpf detached (SIGINT): xdp-filter alone stays attached and working.
source "$(dirname "$0")/lib.bash"
command -v xdp-filter > /dev/null || fail "needs xdp-filter (Debian xdp-tools; tools/setup.sh)"
vx() { nsenter --net="/var/run/netns/$NS_V" "$@"; }  # keeps this mount namespace (bpffs pins)
trap 'vx xdp-filter unload "$IF_V" > /dev/null 2>&1; cleanup' EXIT
setup_net
"$NNBPF" compile "$NNBPF_FIXTURES_DIR/port_gate.onnx" -o "$WORK/gate" --scale-bits 16 > /dev/null
start_servers 7000,8000,9999 120

vx xdp-filter load "$IF_V" --mode native --policy allow || fail "xdp-filter load"
vx xdp-filter port 7000 --mode dst || fail "xdp-filter port 7000"
conn() {  # port src count -> "ok=N fail=M"
  in_c $PY "$TRAFFIC" connect "$IP_V" "$1" --count "$3" --src "$2" --timeout 0.5
}
[[ $(conn 7000 "$IP_C" 3) == "ok=0 fail=3" ]] || fail "xdp-filter alone does not drop port 7000"

start_libxdp() {
  rm -f "$WORK/run.err"
  vx "$NNBPF" run "$WORK/gate" --iface "$IF_V" --json --attach libxdp --xdp-priority 20 --block-ttl 120s \
    > "$WORK/events.jsonl" 2> "$WORK/run.err" &
  NNBPF_PID=$!; PIDS+=($NNBPF_PID)
  for _ in $(seq 1 100); do
    grep -q attached "$WORK/run.err" 2>/dev/null && return 0
    kill -0 "$NNBPF_PID" 2>/dev/null || { cat "$WORK/run.err"; fail "nnbpf run --attach libxdp exited"; }
    sleep 0.1
  done
  cat "$WORK/run.err"; fail "nnbpf did not attach through libxdp"
}
start_libxdp
vx xdp-loader status "$IF_V" | tee "$WORK/status.txt"
grep -q nnbpf_dispatch "$WORK/status.txt" || fail "nnbpf not in the dispatcher"
grep -q xdpfilt "$WORK/status.txt" || fail "xdp-filter no longer in the dispatcher"

benign=$(conn 8000 "$IP_C" 100)
denied=$(conn 7000 "$IP_C" 5)
in_c $PY "$TRAFFIC" connect "$IP_V" 9999 --count 1 --src "$IP_C2" --rst > /dev/null
sleep 0.5
intruder=$(conn 8000 "$IP_C2" 5)
dropped_nnbpf=$(stat_of packets_dropped)
echo "both attached: benign $benign; port 7000 (xdp-filter) $denied; blocked intruder $intruder; nnbpf dropped $dropped_nnbpf packets"
[[ $benign == "ok=100 fail=0" ]] || fail "benign traffic did not pass both programs"
[[ $denied == "ok=0 fail=5" ]] || fail "port 7000 passed with nnbpf beside xdp-filter"
[[ $intruder == "ok=0 fail=5" ]] || fail "the blocked intruder passed"
[[ $dropped_nnbpf -ge 5 ]] || fail "nnbpf did not count its drops"
vx xdp-filter status > "$WORK/filter.txt" 2>&1 || true
grep -A3 -i "7000" "$WORK/filter.txt" | head -4

# Killed: the dispatcher slot and the pins stay; the block is still enforced.
kill -9 "$NNBPF_PID"; wait "$NNBPF_PID" 2>/dev/null || true
[[ $(conn 8000 "$IP_C2" 2) == "ok=0 fail=2" ]] || fail "the block lapsed when the daemon died"
[[ $(conn 8000 "$IP_C" 5) == "ok=5 fail=0" ]] || fail "benign traffic failed after the daemon died"
start_libxdp
grep -q "taking over" "$WORK/run.err" || fail "the next run did not take over"
[[ $(vx xdp-loader status "$IF_V" | grep -c nnbpf_dispatch) -eq 1 ]] || fail "take-over added a second nnbpf slot"
[[ $(conn 8000 "$IP_C2" 2) == "ok=0 fail=2" ]] || fail "the taken-over pipeline lost the block"

# Detached: xdp-filter alone, still dropping port 7000; nnbpf's block is gone.
stop_nnbpf
vx xdp-loader status "$IF_V" | tee "$WORK/status2.txt"
grep -q nnbpf_dispatch "$WORK/status2.txt" && fail "nnbpf still in the dispatcher after detaching"
grep -q xdpfilt "$WORK/status2.txt" || fail "detaching nnbpf removed xdp-filter"
[[ -e /sys/fs/bpf/nnbpf/$IF_V ]] && fail "pins left after detaching"
after_denied=$(conn 7000 "$IP_C" 3)
after_benign=$(conn 8000 "$IP_C" 20)
after_intruder=$(conn 8000 "$IP_C2" 3)
echo "nnbpf detached: port 7000 $after_denied; benign $after_benign; former intruder $after_intruder"
[[ $after_denied == "ok=0 fail=3" ]] || fail "xdp-filter stopped working when nnbpf detached"
[[ $after_benign == "ok=20 fail=0" && $after_intruder == "ok=3 fail=0" ]] || fail "traffic after detaching"
echo "coexist: PASS"
