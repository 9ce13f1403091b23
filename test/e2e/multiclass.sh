#!/usr/bin/env bash
# A three-class model end to end (docs/run.md, "Blocking policy"):
# port_classes.onnx calls a flow benign below port 9000, scan at 9200 and dos
# at 9999 (metadata nnbpf.classes "benign,scan,dos", nnbpf.protocols "tcp").
# - the manifest names the classes, events carry the class name;
# - --block-classes dos: only dos verdicts are evidence, scan flows never block;
# - default (every class but the first): scan and dos both block.
# Window 5 s, K = 3, so each phase takes a few seconds.
source "$(dirname "$0")/lib.bash"
setup_net
"$NNBPF" compile "$NNBPF_FIXTURES_DIR/port_classes.onnx" -o "$WORK/m" --scale-bits 16 > "$WORK/compile.txt"
grep -q "^classes:  benign,scan,dos (metadata nnbpf.classes)" "$WORK/compile.txt" \
  || fail "compile summary: $(cat "$WORK/compile.txt")"
$PY -c "
import json, sys
m = json.load(open('$WORK/m/manifest.json'))
sys.exit(0 if m['classes'] == ['benign', 'scan', 'dos'] and m['protocols'] == ['tcp'] else 1)" \
  || fail "manifest classes/protocols: $(grep -A4 classes "$WORK/m/manifest.json")"
start_servers 8000,9200,9999 60
ARGS=(--block-after 3 --min-share 0.5 --window 5s --block-ttl 30s --idle-timeout 1s)

conn() {  # src port count: connections, each ended by RST
  in_c $PY "$TRAFFIC" connect "$IP_V" "$2" --count "$3" --src "$1" --rst --timeout 0.5 > /dev/null || true
}
wait_events() {  # filter expected: bounded wait (5 s) until the filter matches `expected` events
  for _ in $(seq 1 50); do
    [[ $(count_events "$1") -ge $2 ]] && break
    sleep 0.1
  done
  count_events "$1"
}
verdicts() {  # src class -> "n_verdicts n_evidence"
  $PY -c "
import json
v = [json.loads(l) for l in open('$WORK/events.jsonl')]
v = [e for e in v if e['event'] == 'verdict' and e['src'] == '$1' and e['class'] == '$2']
print(len(v), sum(1 for e in v if e['evidence']))"
}

# 1. --block-classes dos: scan flows are reported as scan, never evidence.
start_nnbpf "$WORK/m" "${ARGS[@]}" --block-classes dos
grep -q "evidence: dos" "$WORK/run.err" || fail "policy line: $(cat "$WORK/run.err")"
conn "$IP_C" 8000 2
conn "$IP_C" 9200 4
[[ $(wait_events "e['event']=='verdict' and e['src']=='$IP_C'" 6) -eq 6 ]] || fail "verdicts of $IP_C missing"
[[ $(verdicts "$IP_C" benign) == "2 0" ]] || fail "benign verdicts of $IP_C: $(verdicts "$IP_C" benign)"
[[ $(verdicts "$IP_C" scan) == "4 0" ]] || fail "scan verdicts of $IP_C (n, evidence): $(verdicts "$IP_C" scan)"
[[ $(count_events "e['event']=='verdict' and e['class']=='scan' and e['verdict']==1") -eq 4 ]] \
  || fail "scan verdicts are not class 1"
[[ $(count_events "e['event']=='block'") -eq 0 ]] || fail "scan flows blocked with --block-classes dos"
out=$(in_c $PY "$TRAFFIC" connect "$IP_V" 8000 --count 1 --src "$IP_C")
[[ $out == "ok=1 fail=0" ]] || fail "scan source lost connections: $out"
vnnbpf hosts list --iface "$IF_V" --evidence > "$WORK/evidence.txt"
grep -q "^$IP_C .* 0 of [0-9]* flows counted as evidence in the window" "$WORK/evidence.txt" \
  || fail "hosts list --evidence for $IP_C: $(cat "$WORK/evidence.txt")"
conn "$IP_C2" 9999 3
[[ $(wait_events "e['event']=='block' and e['src']=='$IP_C2'" 1) -eq 1 ]] || fail "3 dos flows did not block $IP_C2"
[[ $(count_events "e['event']=='block' and e['src']=='$IP_C2' and e['class']=='dos' and e['verdict']==2 and e['window_hits']==3") -eq 1 ]] \
  || fail "block event of $IP_C2 does not name class dos with 3 verdicts"
[[ $(verdicts "$IP_C2" dos) == "3 3" ]] || fail "dos verdicts of $IP_C2 (n, evidence): $(verdicts "$IP_C2" dos)"
out=$(in_c $PY "$TRAFFIC" connect "$IP_V" 8000 --count 1 --src "$IP_C2" --timeout 0.5)
[[ $out == "ok=0 fail=1" ]] || fail "dos source still connects: $out"
vnnbpf hosts list --iface "$IF_V" | tee "$WORK/hosts.txt"
grep -q "^$IP_C2 .*3 of 3 flows dos in the window" "$WORK/hosts.txt" || fail "hosts list does not name the class"
[[ $(count_events "e['event']=='block' and e['src']=='$IP_C'") -eq 0 ]] || fail "scan source blocked"

# 2. Default: every class but benign counts; scan flows block too.
vnnbpf hosts del "$IP_C" --iface "$IF_V" > /dev/null
vnnbpf hosts del "$IP_C2" --iface "$IF_V" > /dev/null
stop_nnbpf
: > "$WORK/events.jsonl"
start_nnbpf "$WORK/m" "${ARGS[@]}"
grep -q "evidence: scan,dos" "$WORK/run.err" || fail "policy line: $(cat "$WORK/run.err")"
conn "$IP_C" 9200 3
[[ $(wait_events "e['event']=='block' and e['src']=='$IP_C'" 1) -eq 1 ]] || fail "3 scan flows did not block $IP_C by default"
[[ $(count_events "e['event']=='block' and e['src']=='$IP_C' and e['class']=='scan' and e['window_hits']==3") -eq 1 ]] \
  || fail "block event of $IP_C does not name class scan"
conn "$IP_C2" 9999 3
[[ $(wait_events "e['event']=='block' and e['src']=='$IP_C2'" 1) -eq 1 ]] || fail "3 dos flows did not block $IP_C2 by default"
out=$(in_c $PY "$TRAFFIC" connect "$IP_V" 8000 --count 1 --src "$IP_C" --timeout 0.5)
[[ $out == "ok=0 fail=1" ]] || fail "scan source still connects: $out"

vnnbpf stats --iface "$IF_V"
stop_nnbpf
# Bad input: a class the model does not have, the benign class.
err=$(vnnbpf run "$WORK/m" --iface "$IF_V" --block-classes ddos 2>&1 >/dev/null) && fail "--block-classes ddos accepted"
[[ $err == *"--block-classes: the model has no class 'ddos' (classes: benign,scan,dos)"* ]] || fail "error: $err"
err=$(vnnbpf run "$WORK/m" --iface "$IF_V" --block-classes benign 2>&1 >/dev/null) && fail "--block-classes benign accepted"
[[ $err == *"'benign' is the model's benign class"* ]] || fail "error: $err"
[[ ! -e /sys/fs/bpf/nnbpf/$IF_V/link ]] || fail "a refused run attached"
echo "multiclass: PASS"
