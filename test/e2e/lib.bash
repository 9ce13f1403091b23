# Shared helpers for e2e tests (sourced). Two namespaces joined by a veth
# pair, created by the test and always removed, with every process it started
# (tools/harness.bash: namespaces, veths, daemons started until they say ready):
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
NNBPF_PID=

source "$NNBPF_SOURCE_DIR/tools/harness.bash"
harness_trap
harness_dirs "$WORK"
harness_pins "$IF_V"

fail() { echo "FAIL: $*" >&2; [[ -f $WORK/events.jsonl ]] && tail -n 5 "$WORK/events.jsonl" >&2; exit 1; }

setup_net() {
  harness_netns "$NS_C" "$NS_V"
  harness_veth "$NS_C" "$IF_C" "$NS_V" "$IF_V"
  ip -n "$NS_C" addr add "$IP_C/24" dev "$IF_C"
  ip -n "$NS_C" addr add "$IP_C2/24" dev "$IF_C"
  ip -n "$NS_V" addr add "$IP_V/24" dev "$IF_V"
  ip -n "$NS_C" addr add "$IP6_C/64" dev "$IF_C" nodad
  ip -n "$NS_V" addr add "$IP6_V/64" dev "$IF_V" nodad
}

# nnbpf inside the victim's network namespace, sharing this mount namespace
# (so pins are visible to the test).
vnnbpf() { nsenter --net="/var/run/netns/$NS_V" "$NNBPF" "$@"; }
in_c() { ip netns exec "$NS_C" "$@"; }
in_v() { ip netns exec "$NS_V" "$@"; }

start_servers() {  # ports seconds
  in_v $PY "$TRAFFIC" serve --ports "$1" --seconds "$2" &
  harness_track $!
  sleep 0.5
}

# nnbpf run DIR on the victim's interface, events in $WORK/events.jsonl,
# stderr in $WORK/run.err; returns once the daemon says it is ready
# (tools/harness.bash).
start_nnbpf() {  # dir args...
  local dir=$1; shift
  harness_start "$NS_V" "$WORK/run.err" "$NNBPF" run "$dir" --iface "$IF_V" --json "$@" > "$WORK/events.jsonl" ||
    fail "nnbpf run did not attach"
  NNBPF_PID=$HARNESS_PID
}

stop_nnbpf() {
  harness_stop "$NNBPF_PID" 5 || fail "nnbpf run did not stop on SIGINT"
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
