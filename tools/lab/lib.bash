# Shared helpers of the lab's scripts (dataset.sh, report.sh, tools/demo.sh,
# test/e2e/lab.sh); sourced. Expects LAB_NAME and NNBPF (the nnbpf binary);
# the lab must be up (lab.sh up). Sets LAB_VICTIM_IF/IP/NS from `lab.sh env`.
LAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAB_SH=$LAB_ROOT/tools/lab/lab.sh
LAB_PY=/usr/bin/python3
export PYTHONPATH=$LAB_ROOT/examples/train${PYTHONPATH:+:$PYTHONPATH}  # the Python package
: "${LAB_NAME:=lab}"

lab() { "$LAB_SH" --name "$LAB_NAME" "$@"; }
lab_env() { eval "$(lab env)"; }

# nnbpf capture exists once the capture command lands; until then the lab
# captures with `nnbpf run --monitor` and a model reading all 24 features.
have_capture() { "$NNBPF" capture --help 2>&1 | grep -q -- "--labels"; }

# nnbpf_start DIR EVENTS ERRFILE ARGS...: `nnbpf run DIR --iface <victim> --json ARGS`
# in the victim's namespace, events stamped with wall-clock t_ns into EVENTS.
# Sets NNBPF_PID; returns once attached (NNBPF_ATTACH_WAIT seconds at most, default 10).
nnbpf_start() {
  local dir=$1 events=$2 err=$3
  shift 3
  nsenter --net="/var/run/netns/$LAB_VICTIM_NS" "$NNBPF" run "$dir" --iface "$LAB_VICTIM_IF" --json "$@" \
    > >("$LAB_PY" "$LAB_ROOT/tools/lab/events.py" stamp > "$events") 2> "$err" &
  NNBPF_PID=$!
  local _
  for _ in $(seq 1 $((${NNBPF_ATTACH_WAIT:-10} * 10))); do
    [[ -e /sys/fs/bpf/nnbpf/$LAB_VICTIM_IF/link ]] && grep -q attached "$err" 2> /dev/null && return 0
    kill -0 "$NNBPF_PID" 2> /dev/null || { cat "$err" >&2; echo "nnbpf run exited" >&2; return 1; }
    sleep 0.1
  done
  cat "$err" >&2
  echo "nnbpf run did not attach in ${NNBPF_ATTACH_WAIT:-10} s" >&2
  return 1
}

# nnbpf_stop: SIGINT and wait (5 s, then SIGKILL; lab.sh down removes pins).
nnbpf_stop() {
  [[ -n ${NNBPF_PID:-} ]] || return 0
  kill -INT "$NNBPF_PID" 2> /dev/null || true
  local _
  for _ in $(seq 1 50); do
    kill -0 "$NNBPF_PID" 2> /dev/null || { NNBPF_PID=; sleep 0.2; return 0; }
    sleep 0.1
  done
  kill -KILL "$NNBPF_PID" 2> /dev/null || true
  NNBPF_PID=
}

# capture_start WORKDIR LABELS IDLE: start capturing every ended flow on the
# victim's interface. capture_stop WORKDIR OUT.csv: stop and write the CSV
# (the 24 features, label, class, src, dst, sport, dport, proto, end, ts_ns).
capture_start() {
  local w=$1 labels=$2 idle=$3
  mkdir -p "$w"
  if have_capture; then
    nsenter --net="/var/run/netns/$LAB_VICTIM_NS" "$NNBPF" capture --iface "$LAB_VICTIM_IF" --out "$w/capture.csv" \
      --labels "$labels" --idle-timeout "$idle" 2> "$w/capture.err" &
    NNBPF_PID=$!
    CAPTURE_MODE=capture
    local _
    for _ in $(seq 1 100); do
      [[ -e /sys/fs/bpf/nnbpf/$LAB_VICTIM_IF/link || -s $w/capture.err ]] && break
      sleep 0.1
    done
    kill -0 "$NNBPF_PID" 2> /dev/null || { cat "$w/capture.err" >&2; return 1; }
  else
    CAPTURE_MODE=monitor
    "$LAB_PY" "$LAB_ROOT/tools/lab/capture_model.py" "$w/capture.onnx"
    "$NNBPF" compile "$w/capture.onnx" -o "$w/capture-model" > /dev/null
    nnbpf_start "$w/capture-model" "$w/capture.jsonl" "$w/capture.err" --monitor --idle-timeout "$idle"
  fi
  cp "$labels" "$w/labels"
}
capture_stop() {
  local w=$1 out=$2
  nnbpf_stop
  if [[ $CAPTURE_MODE == capture ]]; then
    cp "$w/capture.csv" "$out"
  else
    "$LAB_PY" "$LAB_ROOT/tools/lab/events.py" to-csv --events "$w/capture.jsonl" --labels "$w/labels" --out "$out"
  fi
}
