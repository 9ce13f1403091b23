#!/usr/bin/env bash
# Evidence-based blocking (docs/run.md, "Blocking policy") with nnbpf run's
# defaults (K = 3 verdicts making >= half of a source's flows in 10 s) and a
# TCP-only model that calls a flow an intrusion iff its destination port is
# above 9000:
# - a source with many benign flows and one intrusion is never blocked;
# - a source with K intrusions inside the window is blocked within it, and
#   hosts list says why and until when; hosts list --evidence shows sources
#   with evidence that are not blocked; hosts del clears the evidence;
# - UDP flows (to the "intrusion" port) are never classified, counted in
#   flows_out_of_domain, never blocked;
# - evidence survives a hot update and a take-over after SIGKILL;
# - a source blocked again within one TTL of its last block gets twice the TTL.
source "$(dirname "$0")/lib.bash"
setup_net
"$NNBPF" compile "$NNBPF_FIXTURES_DIR/port_gate.onnx" -o "$WORK/gate" --scale-bits 16 --protocols tcp > "$WORK/compile.txt"
grep -q "^domain:   tcp only (--protocols)" "$WORK/compile.txt" || fail "compile summary: $(cat "$WORK/compile.txt")"
grep -q '"protocols": \[' "$WORK/gate/manifest.json" || fail "no protocols in the manifest"
start_servers 8000,9999 120
ARGS=(--block-ttl 5s --block-ttl-max 20s --idle-timeout 1s)
start_nnbpf "$WORK/gate" "${ARGS[@]}"
grep -q "after 3 intrusion verdicts making at least 50 % of its flows within 10 s" "$WORK/run.err" \
  || fail "policy line: $(cat "$WORK/run.err")"
intr() {  # src count: connections to the "intrusion" port, each ended by RST
  in_c $PY "$TRAFFIC" connect "$IP_V" 9999 --count "$2" --src "$1" --rst --timeout 0.5 > /dev/null || true
}
intr6() { in_c $PY "$TRAFFIC" connect "$IP6_V" 9999 --count "$1" --src "$IP6_C" --rst --timeout 0.5 > /dev/null || true; }
evidence_of() {  # prefix -> "hits flows" from hosts list --evidence, or "none"
  vnnbpf hosts list --iface "$IF_V" --evidence --json | $PY -c "
import json, sys
for e in json.load(sys.stdin):
    if e['prefix'] == '$1':
        print(e['window_hits'], e['window_flows']); break
else:
    print('none')"
}

# 1. Many benign flows and one intrusion: never blocked.
out=$(in_c $PY "$TRAFFIC" connect "$IP_V" 8000 --count 20 --src "$IP_C")
[[ $out == "ok=20 fail=0" ]] || fail "benign connections: $out"
intr "$IP_C" 1
sleep 0.5
[[ $(count_events "e['event']=='verdict' and e['src']=='$IP_C' and e['verdict']==1 and e['evidence']") -eq 1 ]] \
  || fail "the intrusion verdict was not counted as evidence"
[[ $(count_events "e['event']=='block'") -eq 0 ]] || fail "one intrusion among benign flows blocked its source"
out=$(in_c $PY "$TRAFFIC" connect "$IP_V" 8000 --count 3 --src "$IP_C")
[[ $out == "ok=3 fail=0" ]] || fail "source with one intrusion verdict lost connections: $out"
vnnbpf hosts list --iface "$IF_V" --evidence | tee "$WORK/evidence.txt"
[[ $(evidence_of "$IP_C") == "1 24" ]] || fail "evidence of $IP_C: $(evidence_of "$IP_C"), expected 1 of 24"

# hosts del clears the evidence.
vnnbpf hosts del "$IP_C" --iface "$IF_V" > /dev/null
[[ $(evidence_of "$IP_C") == none ]] || fail "hosts del left evidence: $(evidence_of "$IP_C")"

# 2. K intrusions inside the window: blocked within it.
t0=$(date +%s.%N)
intr "$IP_C2" 3
sleep 0.3
t1=$(date +%s.%N)
[[ $(count_events "e['event']=='block' and e['src']=='$IP_C2' and e['window_hits']==3 and e['window_flows']==3") -eq 1 ]] \
  || fail "3 intrusions in the window did not block $IP_C2"
$PY -c "import sys; sys.exit(0 if $t1 - $t0 < 10 else 1)" || fail "blocked only after the window"
out=$(in_c $PY "$TRAFFIC" connect "$IP_V" 8000 --count 1 --src "$IP_C2" --timeout 0.5)
[[ $out == "ok=0 fail=1" ]] || fail "blocked source still connects: $out"
vnnbpf hosts list --iface "$IF_V" | tee "$WORK/hosts.txt"
grep -q "^$IP_C2 .*by model, [0-9]* s left.*3 of 3 flows intrusion in the window, margin [-0-9.e+]*, TTL 5 s" "$WORK/hosts.txt" \
  || fail "hosts list does not say why"

# 3. UDP against a TCP-only model: counted, never classified, never blocked.
for i in $(seq 1 20); do
  in_c $PY "$TRAFFIC" packets "$IP_V" 9999 --udp --src "$IP_C" --sport $((31000 + i)) --spec 40,40 > /dev/null
done
sleep 2.5  # idle timeout 1 s, sweep
[[ $(count_events "e['event']=='verdict' and e['proto']=='udp'") -eq 0 ]] || fail "UDP flows were classified"
ood=$(stat_of flows_out_of_domain)
echo "flows_out_of_domain: $ood"
[[ $ood -ge 20 ]] || fail "flows_out_of_domain $ood, expected >= 20"
[[ $(count_events "e['event']=='block' and e['src']=='$IP_C'") -eq 0 ]] || fail "UDP flows blocked their source"

# 4. Evidence survives a hot update ...
intr "$IP_C" 2
sleep 0.3
[[ $(evidence_of "$IP_C") == "2 2" ]] || fail "evidence before update: $(evidence_of "$IP_C")"
vnnbpf update "$WORK/gate" --iface "$IF_V" > /dev/null || fail "update failed"
[[ $(evidence_of "$IP_C") == "2 2" ]] || fail "evidence after update: $(evidence_of "$IP_C")"
intr "$IP_C" 1
sleep 0.3
[[ $(count_events "e['event']=='block' and e['src']=='$IP_C' and e['window_hits']==3") -eq 1 ]] \
  || fail "evidence from before the update did not count"

# 5. Repeat offender ($IP_C, blocked just now): blocked again within one TTL (5 s) of the last block's end -> 10 s.
sleep 5.3  # $IP_C's block (TTL 5 s) has ended
intr "$IP_C" 3
sleep 0.3
ttl=$($PY -c "
import json
b = [json.loads(l) for l in open('$WORK/events.jsonl')]
b = [e for e in b if e['event'] == 'block' and e['src'] == '$IP_C']
print(b[-1]['block_ttl_ns'] if b else 0)")
[[ $ttl == 10000000000 ]] || fail "repeat offender's TTL $ttl, expected 10 s"
vnnbpf hosts del "$IP_C" --iface "$IF_V" > /dev/null
out=$(in_c $PY "$TRAFFIC" connect "$IP_V" 8000 --count 1 --src "$IP_C")
[[ $out == "ok=1 fail=0" ]] || fail "hosts del did not unblock: $out"


# ... and a take-over after SIGKILL (IPv6: evidence per /64).
intr6 2
sleep 0.3
P6="fd77:0:0:$NET::/64"
[[ $(evidence_of "$P6") == "2 2" ]] || fail "IPv6 evidence before the kill: $(evidence_of "$P6")"
kill -9 "$NNBPF_PID"
sleep 0.3
start_nnbpf "$WORK/gate" "${ARGS[@]}"
grep -q "taking over" "$WORK/run.err" || fail "no takeover"
[[ $(evidence_of "$P6") == "2 2" ]] || fail "IPv6 evidence after the take-over: $(evidence_of "$P6")"
intr6 1
sleep 0.3
[[ $(count_events "e['event']=='block' and e['src']=='$IP6_C' and e['blocked']=='$P6'") -eq 1 ]] \
  || fail "evidence from before the take-over did not count"
vnnbpf hosts list --iface "$IF_V" | grep -q "^$P6 " || fail "IPv6 prefix block not listed"

vnnbpf stats --iface "$IF_V"
stop_nnbpf
echo "evidence: PASS"
