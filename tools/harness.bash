# One harness for network namespaces, veth pairs and started daemons, shared
# by the e2e tests (test/e2e/lib.bash), the lab (tools/lab/lib.bash) and the
# overhead sweep (tools/lab/overhead.sh). Sourced; needs root for namespaces.
#
#   harness_trap                  remove everything below on EXIT
#   harness_on_exit 'CMD'         run CMD first at exit (e.g. unload a program)
#   harness_netns NS...           new namespaces, lo up; removed at exit with
#                                 every process still in them
#   harness_veth NS_A IF_A NS_B IF_B
#                                 a veth pair IF_A (in NS_A) <-> IF_B (in NS_B), up
#   harness_pins IF               nnbpf's pins and state of IF removed at exit
#   harness_track PID...          killed at exit (SIGTERM, then SIGKILL)
#   harness_dirs DIR...           removed at exit, last
#   harness_start NS ERR CMD...   start CMD in NS's network namespace (keeping
#                                 this mount namespace, so pins are visible),
#                                 stderr to ERR, and wait until it says it is
#                                 ready; sets HARNESS_PID (tracked)
#   harness_stop PID [SECONDS] [SIGNAL]
#                                 SIGINT (or SIGNAL) and wait (default 5 s); 1 if
#                                 it is still alive, else 0 and its exit status
#                                 in HARNESS_STATUS
#
# Readiness is what the daemon signals (runtime/ready.cc), never a line
# grepped from its log: harness_start appends `--ready-fd 3` and reads the
# "ready IF" line from a FIFO; with HARNESS_READY=notify it passes
# NOTIFY_SOCKET instead (systemd's Type=notify protocol) and waits for
# READY=1. It waits HARNESS_READY_TIMEOUT seconds (default 20) at most and
# returns 1 with the daemon's stderr if the daemon exits or stays silent.
HARNESS_PIDS=()
HARNESS_NETNS=()
HARNESS_IFACES=()
HARNESS_ON_EXIT=()
HARNESS_DIRS=()
HARNESS_PID=
HARNESS_STATUS=

harness_trap() { trap harness_cleanup EXIT; }
harness_on_exit() { HARNESS_ON_EXIT+=("$1"); }
harness_track() { HARNESS_PIDS+=("$@"); }
harness_pins() { HARNESS_IFACES+=("$@"); }
harness_dirs() { HARNESS_DIRS+=("$@"); }

harness_cleanup() {
  set +e
  local c p ns ifc
  for c in "${HARNESS_ON_EXIT[@]}"; do eval "$c" > /dev/null 2>&1; done
  for p in "${HARNESS_PIDS[@]}"; do kill "$p" 2> /dev/null; done
  [[ ${#HARNESS_PIDS[@]} -gt 0 ]] && sleep 0.3
  for p in "${HARNESS_PIDS[@]}"; do kill -9 "$p" 2> /dev/null; done
  for ns in "${HARNESS_NETNS[@]}"; do ip netns pids "$ns" 2> /dev/null | xargs -r kill -9 2> /dev/null; done
  for ns in "${HARNESS_NETNS[@]}"; do ip netns del "$ns" 2> /dev/null; done
  for ifc in "${HARNESS_IFACES[@]}"; do rm -rf "/sys/fs/bpf/nnbpf/$ifc" "/run/nnbpf/$ifc"; done
  rmdir /sys/fs/bpf/nnbpf /run/nnbpf 2> /dev/null
  for c in "${HARNESS_DIRS[@]}"; do rm -rf "$c"; done
  return 0
}

harness_netns() {
  local ns
  for ns in "$@"; do
    ip netns add "$ns" || return 1
    HARNESS_NETNS+=("$ns")
    ip -n "$ns" link set lo up || return 1
  done
}

harness_veth() {  # NS_A IF_A NS_B IF_B
  ip link add "$2" netns "$1" type veth peer name "$4" netns "$3" || return 1
  ip -n "$1" link set "$2" up && ip -n "$3" link set "$4" up
}

harness_start() {  # NS ERR CMD...
  local ns=$1 err=$2 mode=${HARNESS_READY:-fd} timeout=${HARNESS_READY_TIMEOUT:-20}
  shift 2
  local dir fd line="" listener="" i
  dir=$(mktemp -d /tmp/nnbpf-ready.XXXXXX) || return 1
  mkfifo -m 600 "$dir/ready"
  # Open the FIFO both ways first: neither side's open blocks.
  exec {fd}<> "$dir/ready"
  if [[ $mode == notify ]]; then
    /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(float(sys.argv[2]))
while b"READY=1" not in s.recv(4096).split(b"\n"):
    pass
print("ready", flush=True)' "$dir/notify" "$timeout" 2> /dev/null >&"$fd" &
    listener=$!
    for ((i = 0; i < 50; i++)); do [[ -S $dir/notify ]] && break; sleep 0.1; done
    NOTIFY_SOCKET=$dir/notify nsenter --net="/var/run/netns/$ns" "$@" {fd}>&- 2> "$err" &
  else
    nsenter --net="/var/run/netns/$ns" "$@" --ready-fd 3 3>&"$fd" {fd}>&- 2> "$err" &
  fi
  HARNESS_PID=$!
  HARNESS_PIDS+=("$HARNESS_PID")
  # A read that times out mid-line keeps what it got in $line: collect it in
  # $part so a slow writer's line is not cut in two.
  local part=""
  for ((i = 0; i < timeout * 5; i++)); do
    if read -r -t 0.2 -u "$fd" line; then
      line=$part$line
      break
    fi
    part+=$line
    line=""
    kill -0 "$HARNESS_PID" 2> /dev/null || break
  done
  if [[ -z $line ]] && read -r -t 0.2 -u "$fd" line; then  # said just before exiting?
    line=$part$line
  fi
  exec {fd}<&-
  if [[ -n $listener ]]; then kill "$listener" 2> /dev/null || true; fi
  rm -rf "$dir"
  [[ $line == ready* ]] && return 0
  cat "$err" >&2
  if kill -0 "$HARNESS_PID" 2> /dev/null; then
    echo "harness: $1 did not say it was ready within $timeout s" >&2
  else
    echo "harness: $1 exited before it was ready" >&2
  fi
  return 1
}

harness_stop() {  # PID [SECONDS] [SIGNAL]
  local pid=$1 i p kept=()
  HARNESS_STATUS=
  if kill -"${3:-INT}" "$pid" 2> /dev/null; then
    for ((i = 0; i < ${2:-5} * 10; i++)); do
      kill -0 "$pid" 2> /dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2> /dev/null && return 1
  fi
  HARNESS_STATUS=0
  wait "$pid" 2> /dev/null || HARNESS_STATUS=$?
  for p in "${HARNESS_PIDS[@]}"; do [[ $p == "$pid" ]] || kept+=("$p"); done
  HARNESS_PIDS=("${kept[@]}")  # gone: never killed at exit (its pid may be reused)
  return 0
}
