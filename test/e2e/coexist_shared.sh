#!/usr/bin/env bash
# xdp-filter and nnbpf (--attach libxdp) share the interface through libxdp's
# dispatcher: the port xdp-filter denies (7000) is dropped, the intruder
# nnbpf blocks is dropped, benign traffic passes; detaching nnbpf leaves
# xdp-filter attached and working. On kernels that refuse BPF_PROG_TYPE_EXT
# (freplace) programs libxdp has no dispatcher: NOT RUN (exit 77, reported by
# ctest as not run, never as passed).
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/coexist_lib.bash"

if [[ $dispatcher == no ]]; then
  echo "NOT RUN: sharing the interface with xdp-filter: this kernel refuses BPF_PROG_TYPE_EXT programs, so libxdp's dispatcher is unavailable (xdp-filter itself fell back to a single program)" >&2
  exit 77
fi
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
vx xdp-filter unload "$IF_V" || fail "xdp-filter unload"
echo "coexist_shared: PASS"
