# Shared helpers for e2e tests (sourced). Two namespaces joined by a veth
# pair, created by the test and always removed, with every process it started:
#   $NS_C (client/attacker): 10.77.$NET.2 and 10.77.$NET.3 on $IF_C
#   $NS_V (victim, runs nnbpf on $IF_V): 10.77.$NET.1
#   and IPv6 fd77:0:0:$NET::2 (client) / ::1 (victim)
set -euo pipefail
: "${NNBPF:?}" "${NNBPF_FIXTURES_DIR:?}" "${NNBPF_SOURCE_DIR:?}"
PY=/usr/bin/python3
export PYTHONPATH=$NNBPF_SOURCE_DIR/examples/train${PYTHONPATH:+:$PYTHONPATH}  # the Python package
TRAFFIC=$NNBPF_SOURCE_DIR/test/e2e/traffic.py

if [[ $(id -u) -ne 0 ]]; then
  if [[ "${CI:-}" == "true" ]]; then echo "FAIL: e2e tests need root under CI" >&2; exit 1; fi
  echo "SKIP: not root" >&2; exit 77
fi

NET=${NET:-$((RANDOM % 200 + 20))}
TAG=nnbpf$$
NS_C=${TAG}c
NS_V=${TAG}v
IF_C=nb${$}c
IF_V=nb${$}v
IP_V=10.77.$NET.1
IP_C=10.77.$NET.2
IP_C2=10.77.$NET.3
IP6_V=fd77:0:0:$NET::1
IP6_C=fd77:0:0:$NET::2
WORK=$(mktemp -d /tmp/nnbpf-e2e.XXXXXX)
PIDS=()

cleanup() {
  set +e
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.3
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  for ns in "$NS_C" "$NS_V"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
  done
  ip netns del "$NS_C" 2>/dev/null
  ip netns del "$NS_V" 2>/dev/null
  rm -rf "/sys/fs/bpf/nnbpf/$IF_V" "/run/nnbpf/$IF_V" "$WORK"
  rmdir /sys/fs/bpf/nnbpf /run/nnbpf 2>/dev/null
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; [[ -f $WORK/events.jsonl ]] && tail -n 5 "$WORK/events.jsonl" >&2; exit 1; }

setup_net() {
  ip netns add "$NS_C"
  ip netns add "$NS_V"
  ip link add "$IF_C" netns "$NS_C" type veth peer name "$IF_V" netns "$NS_V"
  ip -n "$NS_C" addr add "$IP_C/24" dev "$IF_C"
  ip -n "$NS_C" addr add "$IP_C2/24" dev "$IF_C"
  ip -n "$NS_V" addr add "$IP_V/24" dev "$IF_V"
  ip -n "$NS_C" addr add "$IP6_C/64" dev "$IF_C" nodad
  ip -n "$NS_V" addr add "$IP6_V/64" dev "$IF_V" nodad
  ip -n "$NS_C" link set "$IF_C" up
  ip -n "$NS_V" link set "$IF_V" up
  ip -n "$NS_C" link set lo up
  ip -n "$NS_V" link set lo up
}

# nnbpf inside the victim's network namespace, sharing this mount namespace
# (so pins are visible to the test).
vnnbpf() { nsenter --net="/var/run/netns/$NS_V" "$NNBPF" "$@"; }
in_c() { ip netns exec "$NS_C" "$@"; }
in_v() { ip netns exec "$NS_V" "$@"; }

start_servers() {  # ports seconds
  in_v $PY "$TRAFFIC" serve --ports "$1" --seconds "$2" &
  PIDS+=($!)
  sleep 0.5
}

start_nnbpf() {  # dir args...
  local dir=$1; shift
  # A previous daemon's log must not satisfy the wait below before the new
  # process has truncated it (that race made takeover.sh flaky).
  rm -f "$WORK/run.err"
  nsenter --net="/var/run/netns/$NS_V" "$NNBPF" run "$dir" --iface "$IF_V" --json "$@" > "$WORK/events.jsonl" 2> "$WORK/run.err" &
  NNBPF_PID=$!
  PIDS+=($NNBPF_PID)
  for _ in $(seq 1 50); do
    [[ -e /sys/fs/bpf/nnbpf/$IF_V/link ]] && grep -q attached "$WORK/run.err" 2>/dev/null && return 0
    kill -0 "$NNBPF_PID" 2>/dev/null || { cat "$WORK/run.err"; fail "nnbpf run exited"; }
    sleep 0.1
  done
  cat "$WORK/run.err"; fail "nnbpf run did not attach"
}

stop_nnbpf() {
  kill -INT "$NNBPF_PID"
  for _ in $(seq 1 50); do kill -0 "$NNBPF_PID" 2>/dev/null || return 0; sleep 0.1; done
  fail "nnbpf run did not stop on SIGINT"
}

stat_of() { vnnbpf stats --iface "$IF_V" --json | $PY -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
count_events() {  # jq-like filter in python over events.jsonl
  $PY -c "
import json, sys
n = 0
for line in open('$WORK/events.jsonl'):
    e = json.loads(line)
    if $1: n += 1
print(n)"
}
