#!/usr/bin/env bash
# The service configuration path without systemd: nnbpf run --config FILE
# (what nnbpf@.service runs), command-line flags overriding the file,
# --watch-model hot updates through inotify (a good model is applied, a bad
# or incompatible one refused while the running one stays), and nnbpf update
# --config (the unit's ExecReload). Bad configurations fail in one line
# naming the file, line and key, and attach nothing.
source "$(dirname "$0")/lib.bash"
setup_net
F=$NNBPF_FIXTURES_DIR
cp "$F/port_gate.onnx" "$WORK/model.onnx"
conf=$WORK/$IF_V.conf
cat > "$conf" <<CONF
# test configuration
model = $WORK/model.onnx
block-ttl = 60s
allow = $IP_C/32
idle-timeout = 2s
metrics-addr = 127.0.0.1:9464
watch-model = true
CONF

# Bad configurations: exit 2, one line naming file:line and the key, no pins.
bad() {  # expected-substring, config text
  printf '%s\n' "$2" > "$WORK/bad.conf"
  if vnnbpf run --iface "$IF_V" --config "$WORK/bad.conf" 2> "$WORK/bad.err"; then fail "bad config accepted: $2"; fi
  cat "$WORK/bad.err"
  [[ $(wc -l < "$WORK/bad.err") -eq 1 ]] || fail "error is not one line"
  grep -qF "$1" "$WORK/bad.err" || fail "expected '$1' in the error"
  [[ ! -e /sys/fs/bpf/nnbpf/$IF_V ]] || fail "a bad config left pins"
}
bad "$WORK/bad.conf:2: unknown key 'blok-ttl'" "model = $WORK/model.onnx
blok-ttl = 5s"
bad "$WORK/bad.conf:3: key 'mode'" "model = $WORK/model.onnx
# comment
mode = turbo"
bad "$WORK/bad.conf:1: key 'idle-timeout'" "idle-timeout = soon
model = $WORK/model.onnx"
bad "$WORK/bad.conf:2: key 'embryonic-timeout'" "model = $WORK/model.onnx
embryonic-timeout = -1s"
bad "$WORK/bad.conf:2: key 'monitor'" "model = $WORK/model.onnx
monitor = maybe"
bad "$WORK/bad.conf:2: key 'max-flows'" "model = $WORK/model.onnx
max-flows = many"
bad "$WORK/bad.conf:2: expected 'key = value'" "model = $WORK/model.onnx
block-ttl 5s"
bad "$WORK/bad.conf:3: key 'model': given twice (first on line 1)" "model = $WORK/model.onnx
allow = 10.0.0.0/8
model = $WORK/model.onnx"
bad "$WORK/bad.conf:1: key 'metrics-addr'" "metrics-addr = localhost
model = $WORK/model.onnx"
if vnnbpf run --iface "$IF_V" --config "$WORK/none.conf" 2> "$WORK/bad.err"; then fail "missing config accepted"; fi
grep -q "none.conf: cannot read" "$WORK/bad.err" || fail "missing config error"

# The good one; the command line overrides the file's metrics address.
start_servers 8000,9999 90
harness_start "$NS_V" "$WORK/run.err" "$NNBPF" run --iface "$IF_V" --config "$conf" --json \
  --metrics-addr 127.0.0.1:9465 > "$WORK/events.jsonl" || fail "nnbpf run --config did not attach"
NNBPF_PID=$HARNESS_PID
cat "$WORK/run.err"
grep -q "watching $WORK/model.onnx" "$WORK/run.err" || fail "watch-model from the config not on"
in_v curl -sf --max-time 5 http://127.0.0.1:9465/metrics > /dev/null || fail "CLI --metrics-addr did not override the file"
in_v curl -sf --max-time 2 http://127.0.0.1:9464/metrics > /dev/null && fail "the file's metrics-addr was used despite the flag"
# The allowlist from the file is in the kernel's allow map.
n_allow=$(bpftool -j map dump pinned "/sys/fs/bpf/nnbpf/$IF_V/nnbpf_allow" | $PY -c "import json,sys; print(len(json.load(sys.stdin)))")
[[ $n_allow -eq 1 ]] || fail "allow from the config not applied ($n_allow entries)"
gen0=$(stat_of param_generation); dig0=$(stat_of model_digest)

wait_log() {  # pattern
  for _ in $(seq 1 150); do grep -q "$1" "$WORK/run.err" && return 0; sleep 0.1; done
  cat "$WORK/run.err"; fail "no log line matching '$1'"
}
# A good new model: applied (generation +1, new digest) while traffic flows.
in_c $PY "$TRAFFIC" connect "$IP_V" 8000 --count 100 --gap 0.01 --src "$IP_C2" > "$WORK/c.txt" &
C=$!; harness_track $C
cp "$F/port_gate_inv.onnx" "$WORK/model.onnx.new" && mv "$WORK/model.onnx.new" "$WORK/model.onnx"
wait_log "changed: updated"
gen1=$(stat_of param_generation); dig1=$(stat_of model_digest)
echo "watch: generation $gen0 -> $gen1, digest ${dig0:0:12} -> ${dig1:0:12}"
[[ $gen1 -eq $((gen0 + 1)) && $dig1 != "$dig0" ]] || fail "the changed model was not applied"
wait "$C"; grep -qx "ok=100 fail=0" "$WORK/c.txt" || fail "connections lost during the watched update: $(cat "$WORK/c.txt")"
# A bad model (NaN weight): refused, the running one stays.
cp "$F/bad_nan_weight.onnx" "$WORK/model.onnx"
wait_log "changed: refused.*NaN"
# An incompatible one (other shape): refused by the update's check.
cp "$F/mlp_6_32_32_2.onnx" "$WORK/model.onnx"
wait_log "changed: refused.*update refused"
[[ $(stat_of param_generation) == "$gen1" && $(stat_of model_digest) == "$dig1" ]] || fail "a refused model changed the pipeline"
kill -0 "$NNBPF_PID" || fail "the daemon died on a bad model"

# ExecReload: nnbpf update --config takes the model from the file.
cp "$F/port_gate.onnx" "$WORK/model.onnx"
wait_log "changed: updated.*generation $((gen1 + 1))"
cp "$F/port_gate_inv.onnx" "$WORK/other.onnx"
sed -i "s|^model = .*|model = $WORK/other.onnx|" "$conf"
vnnbpf update --iface "$IF_V" --config "$conf" || fail "nnbpf update --config failed"
[[ $(stat_of param_generation) -eq $((gen1 + 2)) && $(stat_of model_digest) == "$dig1" ]] || fail "update --config did not apply the file's model"
stop_nnbpf
echo "config_watch: PASS"
