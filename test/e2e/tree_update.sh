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

$PY "$NNBPF_SOURCE_DIR/test/e2e/events_vs_models.py" "$WORK/events.jsonl" "$WORK/a" "$WORK/b" --min 100 \
    --what tree || fail "events vs trees"
echo "tree_update: PASS"
