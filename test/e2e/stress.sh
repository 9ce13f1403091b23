#!/usr/bin/env bash
# Stress and bad input: a 100,000-flow SYN storm into a 4,096-flow table is
# absorbed by LRU eviction and classification goes on afterwards; running on
# a missing interface and bad arguments fail with clear errors.
source "$(dirname "$0")/lib.bash"
setup_net
"$NNBPF" compile "$NNBPF_FIXTURES_DIR/port_gate.onnx" -o "$WORK/gate" --scale-bits 16 > /dev/null

out=$("$NNBPF" run "$WORK/gate" --iface nnbpf-no-such-if 2>&1) && fail "run on a missing interface succeeded"
echo "$out"
echo "$out" | grep -q "interface 'nnbpf-no-such-if' does not exist" || fail "unclear missing-interface error"
out=$(vnnbpf run "$WORK/gate" --iface "$IF_V" --allow 10.0.0.0/99 2>&1) && fail "bad CIDR accepted"
echo "$out" | grep -q "prefix length" || fail "unclear bad-CIDR error: $out"
out=$(vnnbpf run "$WORK/gate" --iface "$IF_V" --block-ttl 5parsecs 2>&1) && fail "bad TTL accepted"
echo "$out" | grep -q "unknown unit" || fail "unclear bad-TTL error: $out"

start_servers 8000 90
start_nnbpf "$WORK/gate" --max-flows 4096
in_c $PY "$TRAFFIC" syn "$IP_V" 7999 --count 50000 --src "$IP_C" --ports-from 1024 > /dev/null &
S1=$!; harness_track $S1
in_c $PY "$TRAFFIC" syn "$IP_V" 7999 --count 50000 --src "$IP_C2" --ports-from 1024 > /dev/null &
S2=$!; harness_track $S2
wait "$S1" "$S2"
vnnbpf stats --iface "$IF_V" --json > "$WORK/stats.json"
cat "$WORK/stats.json"
$PY - "$WORK/stats.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
syns = s["packets_seen"] - s["packets_not_ip"]  # veth may drop a few of the storm's packets before XDP
assert syns >= 90000, s                        # the storm happened
assert s["flows_new"] == syns, s               # every SYN seen (unique source port) started a flow
assert s["flows_evicted"] >= syns - 4096, s
assert s["flows_tracked"] <= 4096, s         # the table never grows past its size
assert s["flow_insert_failures"] == 0, s     # a full table evicts, it never refuses
PY
# Classification goes on: a fresh benign connection ends and is classified.
before=$(count_events "e['event']=='verdict' and e['reason']=='fin'")
out=$(in_c $PY "$TRAFFIC" connect "$IP_V" 8000 --count 20 --src "$IP_C2")
[[ $out == "ok=20 fail=0" ]] || fail "connections after the storm failed: $out"
sleep 0.5
after=$(count_events "e['event']=='verdict' and e['reason']=='fin'")
echo "FIN verdicts after the storm: $((after - before))"
[[ $((after - before)) -ge 20 ]] || fail "flows after the storm were not classified"
stop_nnbpf
echo "stress: PASS"
