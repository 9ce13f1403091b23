#!/usr/bin/env bash
# A short live lab end to end (tools/lab/, docs/lab.md):
# 1. lab.sh up: victim with OpenSSH, vsftpd, the web app; one namespace per client;
# 2. capture (nnbpf capture, or run --monitor with a 24-feature model until it
#    exists) while a client sends TCP flows whose every packet the test writes
#    (raw socket): exactly one row per flow, every timing-free feature exact;
#    and while real tools run (curl browsing, ssh sessions, nmap SYN and FIN
#    scans): one row per curl connection;
# 3. trains a model on that capture (examples/train/train.py), deploys it with
#    blocking on, replays the scenarios with another seed: both scanners are
#    blocked, the benign clients never are, and their traffic still works.
set -euo pipefail
: "${NNBPF:?}" "${NNBPF_SOURCE_DIR:?}"
if [[ $(id -u) -ne 0 ]]; then
  if [[ "${CI:-}" == "true" ]]; then echo "FAIL: e2e tests need root under CI" >&2; exit 1; fi
  echo "SKIP: not root" >&2; exit 77
fi
for t in sshd vsftpd nmap curl sshpass; do
  if ! command -v "$t" > /dev/null && [[ ! -x /usr/sbin/$t ]]; then
    if [[ "${CI:-}" == "true" ]]; then echo "FAIL: $t missing (tools/setup.sh installs the lab's packages)" >&2; exit 1; fi
    echo "SKIP: $t missing (tools/setup.sh installs it)" >&2; exit 77
  fi
done
LAB_NAME=t$$
LAB_NAME=${LAB_NAME:0:8}
source "$NNBPF_SOURCE_DIR/tools/lab/lib.bash"
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/nnbpf-e2e-lab.XXXXXX)
cleanup() {
  set +e
  first_packets_stop
  nnbpf_stop
  lab down 2> /dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

BENIGN=(web ssh)
ATTACKS=(scan-syn scan-fin)
lab --net $((RANDOM % 200 + 20)) up
lab_env
CTRL_SRC=$(lab labels iperf | cut -d/ -f1)  # a host whose packets the test writes itself
{ lab labels "${BENIGN[@]}" "${ATTACKS[@]}"; echo "$CTRL_SRC/32 0 controlled"; } > "$WORK/labels"

# --- capture -------------------------------------------------------------------------
capture_start "$WORK/cap" "$WORK/labels" 2s
lab host iperf "$PY" "$NNBPF_SOURCE_DIR/test/e2e/lab_flows.py" send --src "$CTRL_SRC" --dst "$LAB_VICTIM_IP" \
  --port 7001 --flows 40 --seed 3 --out "$WORK/expected.json"
lab run --seed 1 --scale 25 --out "$WORK/day1" "${BENIGN[@]}" "${ATTACKS[@]}" > /dev/null
sleep 5
capture_stop "$WORK/cap" "$WORK/day1.csv"
"$PY" "$NNBPF_SOURCE_DIR/test/e2e/lab_flows.py" check --expected "$WORK/expected.json" --csv "$WORK/day1.csv" \
  --src "$CTRL_SRC" || fail "capture rows differ from the packets sent"
# One row per curl connection (each request is its own connection, closed with FIN).
web_ip=$(lab labels web | cut -d/ -f1)
n_req=$(awk -F'\t' '$1 == "web" {print $8}' "$WORK/day1/scenarios.tsv" | awk '{print $1}')
n_rows=$(awk -F, -v s="$web_ip" 'NR > 1 && $27 == s' "$WORK/day1.csv" | wc -l)
echo "web: $n_req curl connections (visits), $n_rows rows"
[[ $n_req -gt 0 && $n_rows -eq $n_req ]] || fail "web: $n_req curl connections but $n_rows capture rows"
for s in "${ATTACKS[@]}"; do
  ip=$(lab labels "$s" | cut -d/ -f1)
  n=$(awk -F, -v s="$ip" 'NR > 1 && $27 == s' "$WORK/day1.csv" | wc -l)
  echo "$s: $n rows"
  [[ $n -ge 900 ]] || fail "$s: $n rows, expected one per probed port (>= 900 of 1000)"
done

# --- train on the capture, deploy, replay ----------------------------------------------
grep -v ",controlled," "$WORK/day1.csv" > "$WORK/train-all.csv"
"$PY" "$NNBPF_SOURCE_DIR/tools/lab/evaluate.py" balance --in "$WORK/train-all.csv" --out "$WORK/train.csv" --cap 200
"$PY" "$NNBPF_SOURCE_DIR/examples/train/train.py" --data "$WORK/train.csv" --out "$WORK/lab.onnx" --quiet --batch-size 16 --epochs 64 \
  --features fwd_pkt_len_max,fwd_iat_max_ns,fwd_pkt_len_min,dst_port,fwd_header_len,fwd_pkt_count > /dev/null
"$NNBPF" compile "$WORK/lab.onnx" -o "$WORK/lab" > /dev/null
nnbpf_start "$WORK/lab" "$WORK/events.jsonl" "$WORK/run.err" --block-ttl 300s --idle-timeout 2s
first_packets_start "$WORK/first" "${ATTACKS[@]}" || fail "tcpdump did not start"
lab run --seed 2 --scale 25 --out "$WORK/day2" "${ATTACKS[0]}" "${BENIGN[@]}" "${ATTACKS[1]}" > /dev/null
sleep 5
first_packets_stop
"$PY" "$NNBPF_SOURCE_DIR/tools/lab/evaluate.py" online --events "$WORK/events.jsonl" --labels "$WORK/day2/labels" \
  --scenarios "$WORK/day2/scenarios.tsv" --first-packets "$WORK/first" | tee "$WORK/online.txt"
for s in "${ATTACKS[@]}"; do
  line=$(grep -E "^  [0-9.]+ +$s +blocked after" "$WORK/online.txt") || fail "$s's source was not blocked"
  # The first packet follows the launch: its time to block is the shorter one.
  [[ $line =~ after\ ([0-9.]+)\ s.*,\ ([0-9.]+)\ s\ after\ its\ first\ packet ]] ||
    fail "$s: no time to block from its first packet: $line"
  awk -v l="${BASH_REMATCH[1]}" -v f="${BASH_REMATCH[2]}" 'BEGIN { exit !(f <= l) }' ||
    fail "$s: blocked ${BASH_REMATCH[2]} s after its first packet but ${BASH_REMATCH[1]} s after launch"
done
for s in "${BENIGN[@]}"; do
  grep -Eq "^  [0-9.]+ +$s +not blocked" "$WORK/online.txt" || fail "benign $s's source was blocked"
  rc=$(awk -F'\t' -v s="$s" '$1 == s {print $7}' "$WORK/day2/scenarios.tsv")
  [[ $rc == 0 ]] || fail "benign $s failed (rc $rc) under nnbpf: $(cat "$WORK/day2/$s.err")"
done
# The scanners' later packets were dropped in XDP.
dropped=$(lab victim "$NNBPF" stats --iface "$LAB_VICTIM_IF" --json | "$PY" -c "import json,sys; print(json.load(sys.stdin)['packets_dropped'])")
echo "packets dropped: $dropped"
[[ $dropped -gt 0 ]] || fail "no packet dropped from blocked sources"
nnbpf_stop
echo "lab: PASS"
