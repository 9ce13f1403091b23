#!/usr/bin/env bash
# A decision tree in the XDP pipeline and its hot update: flows are classified
# by tree a, then by tree b (same layout: node capacity, depths, features);
# every verdict event's logits equal tree a's or tree b's reference logits for
# the event's features, and both occur. A tree of another layout and an MLP
# are refused with one line, and the running parameters stay unchanged.
source "$(dirname "$0")/lib.bash"
setup_net
"$NNBPF" compile "$NNBPF_FIXTURES_DIR/tree_d10.onnx" -o "$WORK/a" > /dev/null
"$NNBPF" compile "$NNBPF_FIXTURES_DIR/tree_d10_b.onnx" -o "$WORK/b" > /dev/null
"$NNBPF" compile "$NNBPF_FIXTURES_DIR/tree_d3.onnx" -o "$WORK/small" > /dev/null
"$NNBPF" compile "$NNBPF_FIXTURES_DIR/mlp_6_32_32_2.onnx" -o "$WORK/mlp" > /dev/null
start_servers 8000,9999 60
start_nnbpf "$WORK/a" --allow "$IP_C/32"

in_c $PY "$TRAFFIC" connect "$IP_V" 8000 --count 60 --src "$IP_C" > "$WORK/c1.txt" || fail "client 1"
vnnbpf update "$WORK/b" --iface "$IF_V" > "$WORK/update.txt" || fail "update to tree b failed"
cat "$WORK/update.txt"
in_c $PY "$TRAFFIC" connect "$IP_V" 9999 --count 60 --src "$IP_C" > "$WORK/c2.txt" || fail "client 2"
grep -qx "ok=60 fail=0" "$WORK/c1.txt" || fail "connections lost before the update"
grep -qx "ok=60 fail=0" "$WORK/c2.txt" || fail "connections lost after the update"
sleep 0.5
gen0=$(stat_of param_generation)
for other in small mlp; do
  if vnnbpf update "$WORK/$other" --iface "$IF_V" 2> "$WORK/$other.err"; then fail "$other: update accepted"; fi
  cat "$WORK/$other.err"
  [[ $(wc -l < "$WORK/$other.err") -eq 1 ]] || fail "$other: error is not one line"
  grep -q "update refused" "$WORK/$other.err" || fail "$other: unclear error"
done
[[ $(stat_of param_generation) == "$gen0" ]] || fail "a refused update changed the running parameters"
stop_nnbpf

$PY - "$WORK" <<'PY'
import csv, json, sys
work = sys.argv[1]
feats = json.load(open(f"{work}/a/manifest.json"))["features"]
ev = [json.loads(l) for l in open(f"{work}/events.jsonl")]
ev = [e for e in ev if e["event"] == "verdict"]
with open(f"{work}/ev.csv", "w", newline="") as f:
    w = csv.writer(f); w.writerow(feats)
    for e in ev: w.writerow([e["features"][k] for k in feats])
json.dump([[e["verdict"]] + e["logits"] for e in ev], open(f"{work}/ev.json", "w"))
PY
"$NNBPF" infer "$WORK/a" --input "$WORK/ev.csv" --engine reference > "$WORK/ref_a.txt"
"$NNBPF" infer "$WORK/b" --input "$WORK/ev.csv" --engine reference > "$WORK/ref_b.txt"
$PY - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
ev = json.load(open(f"{work}/ev.json"))
ra = [list(map(int, l.split(","))) for l in open(f"{work}/ref_a.txt")]
rb = [list(map(int, l.split(","))) for l in open(f"{work}/ref_b.txt")]
na = sum(e == a for e, a in zip(ev, ra))
nb = sum(e == b and e != a for e, a, b in zip(ev, ra, rb))
bad = [(e, a, b) for e, a, b in zip(ev, ra, rb) if e != a and e != b]
print(f"events: {len(ev)}, tree a: {na}, tree b only: {nb}, neither: {len(bad)}")
assert len(ev) >= 100, "expected >= 100 verdict events"
assert not bad, "an event matches neither tree: %s" % (bad[:3],)
assert na > 0 and nb > 0, "both trees must have classified flows"
PY
echo "tree_update: PASS"
