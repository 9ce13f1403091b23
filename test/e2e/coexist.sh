#!/usr/bin/env bash
# nnbpf run --attach libxdp next to xdp-filter (xdp-tools), on every kernel:
# - without libxdp's dispatcher (kernels that refuse BPF_PROG_TYPE_EXT, so
#   xdp-filter holds the interface alone) nnbpf refuses to join xdp-filter in
#   one line and changes nothing;
# - nnbpf through libxdp on its own blocks an intruder and passes benign
#   traffic; killed (SIGKILL) its attachment stays and keeps blocking; the next
#   run takes it over through the pinned entry (no gap, one slot); SIGINT
#   detaches and unpins.
# Sharing the interface with xdp-filter is coexist_shared.sh.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/coexist_lib.bash"

if [[ $dispatcher == no ]]; then
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

echo "coexist: PASS"
