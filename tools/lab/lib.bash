# Shared helpers of the lab's scripts (dataset.sh, report.sh, tools/demo.sh,
# test/e2e/lab.sh); sourced. Expects LAB_NAME and NNBPF (the nnbpf binary);
# the lab must be up (lab.sh up). Sets LAB_VICTIM_IF/IP/NS from `lab.sh env`.
LAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAB_SH=$LAB_ROOT/tools/lab/lab.sh
LAB_PY=/usr/bin/python3
export PYTHONPATH=$LAB_ROOT/examples/train${PYTHONPATH:+:$PYTHONPATH}  # the Python package
source "$LAB_ROOT/tools/harness.bash"  # harness_start/stop (the lab's namespaces are lab.sh's)
: "${LAB_NAME:=lab}"

lab() { "$LAB_SH" --name "$LAB_NAME" "$@"; }
lab_env() { eval "$(lab env)"; }

# nnbpf_start DIR EVENTS ERRFILE ARGS...: `nnbpf run DIR --iface <victim> --json ARGS`
# in the victim's namespace, events stamped with wall-clock t_ns into EVENTS.
# Sets NNBPF_PID; returns once the daemon says it is attached
# (tools/harness.bash; NNBPF_ATTACH_WAIT seconds at most, default 10).
nnbpf_start() {
  local dir=$1 events=$2 err=$3
  shift 3
  HARNESS_READY_TIMEOUT=${NNBPF_ATTACH_WAIT:-10} harness_start "$LAB_VICTIM_NS" "$err" \
    "$NNBPF" run "$dir" --iface "$LAB_VICTIM_IF" --json "$@" \
    > >("$LAB_PY" "$LAB_ROOT/tools/lab/events.py" stamp > "$events") || return 1
  NNBPF_PID=$HARNESS_PID
}

# nnbpf_stop: SIGINT and wait (5 s, then SIGKILL; lab.sh down removes pins).
nnbpf_stop() {
  [[ -n ${NNBPF_PID:-} ]] || return 0
  if harness_stop "$NNBPF_PID" 5; then
    sleep 0.2  # events.py stamp writes the last events
  else
    kill -KILL "$NNBPF_PID" 2> /dev/null || true
  fi
  NNBPF_PID=
}

# first_packets_start DIR SCENARIO...: one tcpdump per intrusion source of
# those scenarios in the victim's namespace, each exiting at its source's
# first packet (DIR/<ip>: "epoch.usec ..."): when an attack reached the victim,
# not when its tool was launched (evaluate.py online --first-packets). The
# capture sees what XDP passed, so a source's first packet is always in it.
# first_packets_stop: end the ones still waiting.
first_packets_start() {
  local dir=$1 cidr label cls ip i
  shift
  mkdir -p "$dir"
  FIRST_PIDS=()
  while read -r cidr label cls; do
    [[ $label == 1 ]] || continue
    ip=${cidr%/*}
    lab victim timeout 900 tcpdump -i "$LAB_VICTIM_IF" -n -tt -q -l -c 1 "src host $ip" \
      > "$dir/$ip" 2> "$dir/$ip.err" &
    FIRST_PIDS+=($!)
  done < <(lab labels "$@")
  for ((i = 0; i < 50; i++)); do  # at most 5 s for every filter to be attached
    [[ $(cat "$dir"/*.err 2> /dev/null | grep -c "listening on") -ge ${#FIRST_PIDS[@]} ]] && return 0
    sleep 0.1
  done
  echo "first_packets_start: tcpdump did not start in $dir (see $dir/*.err)" >&2
  return 1
}
first_packets_stop() {
  ((${#FIRST_PIDS[@]})) || return 0
  kill "${FIRST_PIDS[@]}" 2> /dev/null || true
  wait "${FIRST_PIDS[@]}" 2> /dev/null || true
  FIRST_PIDS=()
  return 0
}
FIRST_PIDS=()

# capture_start WORKDIR LABELS IDLE: start capturing every ended flow on the
# victim's interface. capture_stop WORKDIR OUT.csv: stop and write the CSV
# (the 24 features, label, class, src, dst, sport, dport, proto, end, ts_ns).
capture_start() {
  local w=$1 labels=$2 idle=$3
  mkdir -p "$w"
  HARNESS_READY_TIMEOUT=${NNBPF_ATTACH_WAIT:-10} harness_start "$LAB_VICTIM_NS" "$w/capture.err" \
    "$NNBPF" capture --iface "$LAB_VICTIM_IF" --out "$w/capture.csv" --labels "$labels" --idle-timeout "$idle" ||
    return 1
  NNBPF_PID=$HARNESS_PID
}
capture_stop() {
  local w=$1 out=$2
  nnbpf_stop
  cp "$w/capture.csv" "$out"
}
