#!/usr/bin/env bash
# Prometheus metrics (nnbpf run --metrics-addr): the exposition passes
# `promtool check metrics`, counts what the kernel counted (packets, flows,
# inferences by verdict, blocks) and the events' latency histogram; a real
# Prometheus server scraping nnbpf during traffic sees nnbpf_inferences_total
# grow through its HTTP API. Everything runs in the victim's namespace, on its
# loopback.
source "$(dirname "$0")/lib.bash"
command -v promtool > /dev/null && command -v prometheus > /dev/null || fail "needs Debian's prometheus package (tools/setup.sh)"
setup_net
"$NNBPF" compile "$NNBPF_FIXTURES_DIR/port_gate.onnx" -o "$WORK/gate" --scale-bits 16 > /dev/null
start_servers 8000,9999 90
start_nnbpf "$WORK/gate" --block-ttl 60s --block-after 1 --min-share 0 --metrics-addr 127.0.0.1:9464
grep -q "metrics on http://127.0.0.1:9464/metrics" "$WORK/run.err" || fail "no metrics line"
scrape() { in_v curl -sf --max-time 5 http://127.0.0.1:9464/metrics; }
metric() {  # name{labels} -> value
  scrape | $PY -c "
import sys
want = sys.argv[1]
for line in sys.stdin:
    if line.startswith(want + ' '): print(line.split()[-1]); break
else: print('missing')" "$1"
}

# A Prometheus server scraping every second, in the same namespace.
mkdir -p "$WORK/prom"
cat > "$WORK/prom/prometheus.yml" <<CFG
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: nnbpf
    static_configs: [{targets: ['127.0.0.1:9464']}]
CFG
promtool check config "$WORK/prom/prometheus.yml" > /dev/null || fail "promtool rejects the scrape config"
in_v prometheus --config.file="$WORK/prom/prometheus.yml" --storage.tsdb.path="$WORK/prom/data" \
  --web.listen-address=127.0.0.1:9090 --log.level=warn > "$WORK/prom/log" 2>&1 &
harness_track $!
query() {  # PromQL -> first value or "none"
  in_v curl -sf --max-time 5 -G http://127.0.0.1:9090/api/v1/query --data-urlencode "query=$1" | $PY -c "
import json, sys
r = json.load(sys.stdin)['data']['result']
print(r[0]['value'][1] if r else 'none')" 2>/dev/null || echo none
}
up=none
for _ in $(seq 1 60); do up=$(query 'up{job="nnbpf"}'); [[ $up == 1 ]] && break; sleep 0.5; done
[[ $up == 1 ]] || { cat "$WORK/prom/log"; fail "Prometheus does not scrape nnbpf (up=$up)"; }
first=$(query 'sum(nnbpf_inferences_total)')
echo "prometheus: up=1, sum(nnbpf_inferences_total)=$first before traffic"

# Traffic: benign connections and one intruder (blocked).
out=$(in_c $PY "$TRAFFIC" connect "$IP_V" 8000 --count 200 --gap 0.005 --src "$IP_C")
[[ $out == "ok=200 fail=0" ]] || fail "benign connections failed: $out"
in_c $PY "$TRAFFIC" connect "$IP_V" 9999 --count 1 --src "$IP_C2" --rst > /dev/null
sleep 0.5
in_c $PY "$TRAFFIC" connect "$IP_V" 8000 --count 2 --src "$IP_C2" --timeout 0.5 > /dev/null || true

# The exposition itself.
scrape > "$WORK/metrics.txt" || fail "GET /metrics failed"
promtool check metrics < "$WORK/metrics.txt" || { cat "$WORK/metrics.txt"; fail "promtool check metrics rejects the exposition"; }
grep -v "^#" "$WORK/metrics.txt"
ben=$(metric 'nnbpf_inferences_total{verdict="benign"}')
intr=$(metric 'nnbpf_inferences_total{verdict="intrusion"}')
[[ $ben != missing && $ben -ge 200 ]] || fail "benign inferences $ben, expected >= 200"
[[ $intr != missing && $intr -ge 1 ]] || fail "intrusion inferences $intr, expected >= 1"
[[ $(metric nnbpf_blocks_total) -ge 1 ]] || fail "blocks_total"
[[ $(metric nnbpf_blocks_active) -ge 1 ]] || fail "blocks_active"
[[ $(metric nnbpf_packets_dropped_total) -ge 1 ]] || fail "packets_dropped_total"
seen=$(metric nnbpf_packets_seen_total)
[[ $seen -ge 400 ]] || fail "packets_seen_total $seen"
cnt=$(metric nnbpf_inference_duration_seconds_count)
[[ $cnt -ge 200 ]] || fail "latency histogram counted $cnt events"
grep -q "^nnbpf_model_info{.*digest=\"$(stat_of model_digest)\"" "$WORK/metrics.txt" || fail "model_info digest"
[[ $(metric nnbpf_param_generation) == "$(stat_of param_generation)" ]] || fail "param_generation"
[[ $(in_v curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9464/nope) == 404 ]] || fail "unknown path not 404"

# Prometheus saw the counter grow during the traffic.
last=none
for _ in $(seq 1 40); do
  last=$(query 'sum(nnbpf_inferences_total)')
  [[ $last != none && $last -ge $((ben + intr)) ]] && break
  sleep 0.5
done
echo "prometheus: sum(nnbpf_inferences_total) $first -> $last"
[[ $last != none && $last -gt ${first/none/0} && $last -ge 200 ]] || fail "Prometheus did not see nnbpf_inferences_total grow ($first -> $last)"
inc=$(query 'sum(increase(nnbpf_inferences_total[1m]))')
echo "prometheus: increase over 1m = $inc"

# A second daemon cannot take the port; the running one keeps serving.
if vnnbpf run "$WORK/gate" --iface lo --metrics-addr 127.0.0.1:9464 --duration 1 2> "$WORK/port.err"; then fail "second listener on a taken port"; fi
grep -q "cannot listen" "$WORK/port.err" || { cat "$WORK/port.err"; fail "unclear port error"; }
stop_nnbpf
echo "metrics: PASS (benign=$ben intrusion=$intr, prometheus $first -> $last)"
