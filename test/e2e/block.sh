#!/usr/bin/env bash
# Two hosts joined by veth, nnbpf on the victim's interface with a model that
# calls a flow an intrusion iff its destination port is above 9000:
# - a few hundred real TCP connections from the client to port 8000 pass and
#   are classified benign;
# - a connection to port 9999 gets its source blocked: its later packets are
#   dropped and counted, and the block expires after its TTL;
# - an allowlisted source (10.77.x.3/32) connecting to 9999 is never blocked;
# - hosts add blocks at once, hosts del unblocks at once;
# - IPv6 flows are classified and blocked like IPv4;
# - SIGINT detaches and unpins.
# It runs with --block-after 1 --min-share 0: one intrusion verdict blocks its
# source, as before evidence-based blocking (test/e2e/evidence.sh tests the
# defaults).
source "$(dirname "$0")/lib.bash"
setup_net
"$NNBPF" compile "$NNBPF_FIXTURES_DIR/port_gate.onnx" -o "$WORK/gate" --scale-bits 16 > /dev/null
start_servers 8000,9999 90
start_nnbpf "$WORK/gate" --block-ttl 6s --allow "$IP_C2/32" --block-after 1 --min-share 0

# Benign traffic.
out=$(in_c $PY "$TRAFFIC" connect "$IP_V" 8000 --count 300 --src "$IP_C")
echo "benign: $out"
[[ $out == "ok=300 fail=0" ]] || fail "benign connections failed: $out"
sleep 0.5
benign=$(count_events "e['event']=='verdict' and e['dport']==8000 and e['verdict']==0")
echo "benign verdicts: $benign"
[[ $benign -ge 300 ]] || fail "expected >= 300 benign verdicts, got $benign"
[[ $(count_events "e['event']=='block'") -eq 0 ]] || fail "a benign flow caused a block"

# Intrusion: source blocked, later packets dropped and counted. (The flow
# ends with RST: its dropped ending packet is then not retransmitted, which
# would re-trigger the block after it expires.)
in_c $PY "$TRAFFIC" connect "$IP_V" 9999 --count 1 --src "$IP_C" --rst > /dev/null
sleep 0.5
[[ $(count_events "e['event']=='verdict' and e['dport']==9999 and e['verdict']==1 and e['reason']=='rst'") -ge 1 ]] || fail "no intrusion verdict"
[[ $(count_events "e['event']=='block' and e['src']=='$IP_C'") -ge 1 ]] || fail "no block event"
vnnbpf hosts list --iface "$IF_V" | tee "$WORK/hosts.txt"
grep -q "^$IP_C " "$WORK/hosts.txt" || fail "blocked source not listed"
dropped0=$(stat_of packets_dropped)
out=$(in_c $PY "$TRAFFIC" connect "$IP_V" 8000 --count 2 --src "$IP_C" --timeout 0.5)
[[ $out == "ok=0 fail=2" ]] || fail "blocked source still connects: $out"
dropped1=$(stat_of packets_dropped)
echo "dropped: $dropped0 -> $dropped1"
[[ $dropped1 -gt $dropped0 ]] || fail "drops not counted"
# Another source is unaffected.
out=$(in_c $PY "$TRAFFIC" connect "$IP_V" 8000 --count 3 --src "$IP_C2")
[[ $out == "ok=3 fail=0" ]] || fail "unblocked source affected: $out"

# The block expires after its TTL (6 s).
sleep 6
out=$(in_c $PY "$TRAFFIC" connect "$IP_V" 8000 --count 2 --src "$IP_C")
[[ $out == "ok=2 fail=0" ]] || fail "block did not expire: $out"

# Allowlisted intruder: classified, never blocked.
in_c $PY "$TRAFFIC" connect "$IP_V" 9999 --count 3 --src "$IP_C2" --rst > /dev/null
sleep 0.5
[[ $(count_events "e['event']=='verdict' and e['src']=='$IP_C2' and e['verdict']==1") -ge 3 ]] || fail "allowlisted intruder not classified"
[[ $(count_events "e['event']=='block' and e['src']=='$IP_C2'") -eq 0 ]] || fail "allowlisted source was blocked"
out=$(in_c $PY "$TRAFFIC" connect "$IP_V" 8000 --count 2 --src "$IP_C2")
[[ $out == "ok=2 fail=0" ]] || fail "allowlisted source blocked: $out"
[[ $(stat_of intrusions_allowlisted) -ge 3 ]] || fail "allowlisted intrusions not counted"

# Manual correction.
vnnbpf hosts add "$IP_C" --iface "$IF_V"
out=$(in_c $PY "$TRAFFIC" connect "$IP_V" 8000 --count 1 --src "$IP_C" --timeout 0.5)
[[ $out == "ok=0 fail=1" ]] || fail "hosts add did not block: $out"
vnnbpf hosts del "$IP_C" --iface "$IF_V"
out=$(in_c $PY "$TRAFFIC" connect "$IP_V" 8000 --count 1 --src "$IP_C")
[[ $out == "ok=1 fail=0" ]] || fail "hosts del did not unblock at once: $out"
if vnnbpf hosts add 10.1.2.300 --iface "$IF_V" 2> "$WORK/bad.err"; then fail "bad address accepted"; fi
grep -q "'10.1.2.300' is not an IPv4 or IPv6 address" "$WORK/bad.err" || fail "unclear bad-address error: $(cat "$WORK/bad.err")"

# IPv6 like IPv4: benign flows pass, an intrusion blocks the IPv6 source.
out=$(in_c $PY "$TRAFFIC" connect "$IP6_V" 8000 --count 20 --src "$IP6_C")
[[ $out == "ok=20 fail=0" ]] || fail "IPv6 connections failed: $out"
in_c $PY "$TRAFFIC" connect "$IP6_V" 9999 --count 1 --src "$IP6_C" --rst > /dev/null
sleep 0.5
[[ $(count_events "e['event']=='verdict' and e['src']=='$IP6_C' and e['dport']==8000 and e['verdict']==0") -ge 20 ]] || fail "IPv6 benign flows not classified"
[[ $(count_events "e['event']=='block' and e['src']=='$IP6_C'") -ge 1 ]] || fail "IPv6 intruder not blocked"
out=$(in_c $PY "$TRAFFIC" connect "$IP6_V" 8000 --count 1 --src "$IP6_C" --timeout 0.5)
[[ $out == "ok=0 fail=1" ]] || fail "blocked IPv6 source still connects: $out"
vnnbpf hosts del "$IP6_C" --iface "$IF_V"

vnnbpf stats --iface "$IF_V"
# Every connection has ended, and the packets after each close (last ACK)
# did not start new flows.
[[ $(stat_of flows_tracked) -eq 0 ]] || fail "flows left in the table after every connection closed"
[[ $(stat_of packets_after_close) -gt 0 ]] || fail "post-close packets not recognised"
# A second run on the same interface is refused.
if vnnbpf run "$WORK/gate" --iface "$IF_V" --duration 1 2> "$WORK/second.err"; then fail "second run accepted"; fi
grep -q "already running" "$WORK/second.err" || fail "unclear second-run error: $(cat "$WORK/second.err")"

stop_nnbpf
[[ ! -e /sys/fs/bpf/nnbpf/$IF_V ]] || fail "pins left after SIGINT"
ip -n "$NS_V" link show "$IF_V" | grep -q xdp && fail "XDP still attached after SIGINT"
echo "block: PASS"
