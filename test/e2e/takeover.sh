#!/usr/bin/env bash
# A daemon killed with SIGKILL leaves its pinned pipeline attached and
# protecting; the next nnbpf run takes it over (same link, blocks kept) and
# detaches cleanly on SIGINT. One intrusion verdict blocks (--block-after 1
# --min-share 0); evidence across a take-over: test/e2e/evidence.sh.
source "$(dirname "$0")/lib.bash"
setup_net
"$NNBPF" compile "$NNBPF_FIXTURES_DIR/port_gate.onnx" -o "$WORK/gate" --scale-bits 16 > /dev/null
start_servers 8000,9999 60
start_nnbpf "$WORK/gate" --block-after 1 --min-share 0
vnnbpf hosts add "$IP_C2" --iface "$IF_V" > /dev/null
kill -9 "$NNBPF_PID"
sleep 0.3
ip -n "$NS_V" link show "$IF_V" | grep -q xdp || fail "pipeline detached when the daemon was killed"
out=$(in_c $PY "$TRAFFIC" connect "$IP_V" 8000 --count 1 --src "$IP_C2" --timeout 0.5)
[[ $out == "ok=0 fail=1" ]] || fail "blocked source passes while the daemon is dead: $out"
in_c $PY "$TRAFFIC" connect "$IP_V" 9999 --count 1 --src "$IP_C" --rst > /dev/null
out=$(in_c $PY "$TRAFFIC" connect "$IP_V" 8000 --count 1 --src "$IP_C" --timeout 0.5)
[[ $out == "ok=0 fail=1" ]] || fail "intrusion not blocked while the daemon is dead: $out"

start_nnbpf "$WORK/gate" --block-after 1 --min-share 0
grep -q "taking over" "$WORK/run.err" || fail "no takeover message: $(cat "$WORK/run.err")"
vnnbpf hosts list --iface "$IF_V" | tee "$WORK/hosts.txt"
grep -q "^$IP_C2 " "$WORK/hosts.txt" || fail "manual block lost in the takeover"
grep -q "^$IP_C " "$WORK/hosts.txt" || fail "model block lost in the takeover"
vnnbpf hosts flush --iface "$IF_V"
out=$(in_c $PY "$TRAFFIC" connect "$IP_V" 8000 --count 5 --src "$IP_C")
[[ $out == "ok=5 fail=0" ]] || fail "traffic after takeover: $out"
sleep 0.3
[[ $(count_events "e['event']=='verdict' and e['dport']==8000") -ge 5 ]] || fail "new daemon reports no events"
[[ $(ip -n "$NS_V" -d link show "$IF_V" | grep -c "prog/xdp") -le 1 ]] || fail "two XDP programs attached"
stop_nnbpf
ip -n "$NS_V" link show "$IF_V" | grep -q xdp && fail "XDP still attached after SIGINT"
[[ ! -e /sys/fs/bpf/nnbpf/$IF_V ]] || fail "pins left after SIGINT"
echo "takeover: PASS"
