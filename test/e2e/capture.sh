#!/usr/bin/env bash
# nnbpf capture: the XDP extractor alone writes one CSV row per ended flow,
# with features exactly as the packets the test sent define them.
# - raw TCP segments (IPv4 and IPv6) of known payloads, flags and header
#   lengths, ended by FIN or RST, a one-packet FIN flow, UDP datagrams ended
#   by the idle sweep and by the flush at exit: exactly one row each, with
#   every size/count/flag/port feature equal to what the test computes and
#   the timing features bounded by the gaps it slept (and consistent);
# - labels and classes by longest source prefix from --labels;
# - nnbpf stats --programs reads the kernel's accounting while it runs, the
#   idle sweep's scan program included;
# - the CSV loads with examples/train/nnbpf_data.py, features by name;
# - bad labels files and interfaces: one-line errors, no output file;
# - a second capture on the interface is refused; SIGINT, SIGTERM and
#   --duration stop cleanly: detached, pins removed, live flows flushed.
source "$(dirname "$0")/lib.bash"
setup_net

cat > "$WORK/labels.txt" <<EOF
# source prefix, label, class
10.77.$NET.0/24 0 lan
$IP_C/32 1 ssh-bruteforce   # longest prefix wins
fd77::/16 0 lab6
$IP6_C/128 1 v6-scan
EOF

# Bad input: one line naming file:line, exit 2, nothing written.
printf '# ok\n10.1.2.300/32 1 x\n' > "$WORK/bad1.txt"
printf '10.0.0.0/8 2\n' > "$WORK/bad2.txt"
printf '10.0.0.0/8 1 a,b\n' > "$WORK/bad3.txt"
check_err() {  # expected-message args...
  local want=$1; shift
  set +e
  vnnbpf capture --out "$WORK/never.csv" "$@" 2> "$WORK/err.txt"
  local rc=$?
  set -e
  [[ $rc -eq 2 ]] || fail "capture $*: exit $rc, expected 2"
  [[ $(wc -l < "$WORK/err.txt") -eq 1 ]] || fail "capture $*: not a one-line error: $(cat "$WORK/err.txt")"
  grep -qF -- "$want" "$WORK/err.txt" || fail "capture $*: expected '$want', got: $(cat "$WORK/err.txt")"
  [[ ! -e $WORK/never.csv ]] || fail "capture $*: wrote an output file"
}
check_err "$WORK/bad1.txt:2: '10.1.2.300/32' is not a CIDR" --iface "$IF_V" --labels "$WORK/bad1.txt"
check_err "$WORK/bad2.txt:1: label '2' is not 0 (benign) or 1 (intrusion)" --iface "$IF_V" --labels "$WORK/bad2.txt"
check_err "$WORK/bad3.txt:1: class 'a,b'" --iface "$IF_V" --labels "$WORK/bad3.txt"
check_err "$WORK/missing.txt: cannot open" --iface "$IF_V" --labels "$WORK/missing.txt"
check_err "interface 'nosuch$$' does not exist" --iface "nosuch$$" --labels "$WORK/labels.txt"

t_start=$(date +%s%N)
harness_start "$NS_V" "$WORK/capture.err" "$NNBPF" capture --iface "$IF_V" --out "$WORK/flows.csv" \
  --labels "$WORK/labels.txt" --idle-timeout 2s --mode native || fail "nnbpf capture did not attach"
CAP_PID=$HARNESS_PID
ip -n "$NS_V" link show "$IF_V" | grep -q xdp || fail "no XDP program on $IF_V"

# A second capture (or run) on the same interface is refused, nothing written.
set +e
vnnbpf capture --iface "$IF_V" --out "$WORK/second.csv" 2> "$WORK/second.err"
rc=$?
set -e
[[ $rc -eq 1 ]] || fail "second capture: exit $rc, expected 1"
grep -q "nnbpf is already running on $IF_V" "$WORK/second.err" || fail "second capture: $(cat "$WORK/second.err")"
[[ ! -e $WORK/second.csv ]] || fail "second capture wrote a file"

GAP=0.02
# name src dport sport kind spec  (kind: tcp | udp)
FLOWS=(
  "A $IP_C 2222 40001 tcp 0:S:10,100:AP:8,200:A:8,300:AP:8,400:AU:8,0:A:8,50:AF:8"
  "B $IP_C2 8080 40002 tcp 0:S,10:AP,0:R"
  "C $IP6_C 443 40003 tcp 0:S:10,1000:AP:8,1200:A:8,0:AF:8"
  "F $IP_C 25 40006 tcp 20:AF"
  "D $IP_C2 5353 40004 udp 64,128,32"
)
send() {  # src dport sport kind spec [gap]
  local dst=$IP_V udp=()
  [[ $1 == *:* ]] && dst=$IP6_V
  [[ $4 == udp ]] && udp=(--udp)
  in_c $PY "$TRAFFIC" packets "$dst" "$2" --src "$1" --sport "$3" --spec "$5" --gap "${6:-$GAP}" "${udp[@]}" > /dev/null
}
for f in "${FLOWS[@]}"; do
  read -r _ src dport sport kind spec <<< "$f"
  send "$src" "$dport" "$sport" "$kind" "$spec"
done

# Kernel accounting while 100 datagrams of flow G arrive.
G_SPEC=$(printf '16%.0s,' $(seq 1 100)); G_SPEC=${G_SPEC%,}
send "$IP_C" 9000 40007 udp "$G_SPEC" 0.01 &
G_PID=$!
# 1.5 s: the idle sweep (2 s timeout) scans every second, so at least once.
vnnbpf stats --iface "$IF_V" --programs --interval 1.5s --json > "$WORK/progs.json"
wait $G_PID
$PY - "$WORK/progs.json" <<'EOF' || fail "stats --programs"
import json, sys
j = json.load(open(sys.argv[1]))
p = {x["name"]: x for x in j["programs"]}
assert "nnbpf_xdp" in p and "nnbpf_flow_finish" in p and "nnbpf_sweep" in p and "nnbpf_sweep_scan" in p, p
scan = p["nnbpf_sweep_scan"]
assert 1 <= scan["run_cnt"] <= 10 and scan["run_time_ns"] > 0, scan  # the sweep's scans in the window
x = p["nnbpf_xdp"]
assert 20 <= x["run_cnt"] <= 200, x          # G's datagrams in the window (+ a few others)
assert x["run_time_ns"] > 0 and x["ns_per_run"] > 0, x
assert j["packets"] == x["run_cnt"] and 1.4 < j["interval_s"] < 4, j
assert j["bpf_run_time_ns"] == sum(q["run_time_ns"] for q in j["programs"]), j
assert 0 < j["fepp_ns"] <= j["ns_per_packet"], j
assert 0 < j["cpu_share"] < 1, j
print("stats --programs: nnbpf_xdp %d runs, %.0f ns/run; nnbpf_sweep_scan %d runs, %.0f ns/run"
      % (x["run_cnt"], x["ns_per_run"], scan["run_cnt"], scan["ns_per_run"]))
EOF

sleep 3   # D and G idle out (2 s timeout)
# E: live when the capture stops (flushed at exit).
send "$IP6_C" 53 40005 udp 20,40
sleep 0.3
harness_stop "$CAP_PID" 5 || fail "nnbpf capture did not stop on SIGINT"
[[ $HARNESS_STATUS -eq 0 ]] || fail "nnbpf capture exited with $HARNESS_STATUS: $(cat "$WORK/capture.err")"
t_end=$(date +%s%N)
cat "$WORK/capture.err"
[[ ! -e /sys/fs/bpf/nnbpf/$IF_V ]] || fail "pins left after SIGINT"
ip -n "$NS_V" link show "$IF_V" | grep -q xdp && fail "XDP still attached after SIGINT"

FLOWS+=("G $IP_C 9000 40007 udp $G_SPEC" "E $IP6_C 53 40005 udp 20,40")
printf '%s\n' "${FLOWS[@]}" > "$WORK/flows.txt"
$PY - "$WORK/flows.csv" "$WORK/flows.txt" "$GAP" "$t_start" "$t_end" "$NNBPF_SOURCE_DIR" "$IP_V" "$IP6_V" <<'EOF' || fail "captured flows differ"
import csv, math, sys
path, flows_txt, gap, t0, t1, src, ip_v, ip6_v = sys.argv[1:9]
gap, t0, t1 = float(gap), int(t0), int(t1)
import nnbpf_data as nd

names = [f.name for f in nd.load_catalog()]
rows = list(csv.DictReader(open(path)))
header = open(path).readline().strip().split(",")
want_header = names + ["label", "class", "src", "dst", "sport", "dport", "proto", "end", "ts_ns"]
assert header == want_header, header

LABELS = {"A": (1, "ssh-bruteforce"), "F": (1, "ssh-bruteforce"), "G": (1, "ssh-bruteforce"),
          "B": (0, "lan"), "D": (0, "lan"), "C": (1, "v6-scan"), "E": (1, "v6-scan")}
ENDS = {"A": "fin", "B": "rst", "C": "fin", "F": "fin", "D": "idle", "G": "idle", "E": "exit"}
FL = {"F": 1, "S": 2, "R": 4, "P": 8, "A": 16, "U": 32}
gap_of = {"G": 0.01}
errors = []
flows = [l.split() for l in open(flows_txt) if l.strip()]
assert len(rows) == len(flows), "expected %d rows (one per flow), got %d:\n%s" % (
    len(flows), len(rows), "\n".join(",".join(r[k] for k in ("src", "sport", "dport", "end")) for r in rows))
for name, src_ip, dport, sport, kind, spec in flows:
    mine = [r for r in rows if r["src"] == src_ip and r["sport"] == sport]
    if len(mine) != 1:
        errors.append("%s: %d rows" % (name, len(mine)))
        continue
    r = mine[0]
    pk = []
    for item in spec.split(","):
        p = item.split(":")
        pay = int(p[0])
        if kind == "udp":
            pk.append((pay, 8, 0))
        else:
            pk.append((pay, 4 * (int(p[2]) if len(p) > 2 else 5), sum(FL[c] for c in (p[1] if len(p) > 1 else "A"))))
    n = len(pk)
    lens = [pay + h for pay, h, _ in pk]
    s, q = sum(lens), sum(x * x for x in lens)
    bulks, bulk_pkts, bulk_bytes, run = 0, 0, 0, []
    for pay, _, _ in pk + [(0, 0, 0)]:
        if pay:
            run.append(pay)
            continue
        if len(run) >= 4:
            bulks += 1; bulk_pkts += len(run); bulk_bytes += sum(run)
        run = []
    exp = {
        "dst_port": int(dport), "fwd_pkt_count": n, "fwd_bytes_total": s,
        "fwd_pkt_len_max": max(lens), "fwd_pkt_len_min": min(lens),
        "fwd_pkt_len_std": math.isqrt((n * q - s * s) // (n * n)), "fwd_pkt_len_mean": s // n,
        "fwd_psh_count": sum(1 for _, _, f in pk if f & 8), "fwd_urg_count": sum(1 for _, _, f in pk if f & 32),
        "fwd_header_len": sum(h for _, h, _ in pk), "fwd_seg_size_avg": sum(p for p, _, _ in pk) // n,
        "fwd_bulk_bytes_avg": bulk_bytes // bulks if bulks else 0,
        "fwd_bulk_pkts_avg": bulk_pkts // bulks if bulks else 0,
        "subflow_fwd_pkts": n, "subflow_fwd_bytes": s,
        "fwd_act_data_pkts": sum(1 for p, _, _ in pk if p), "fwd_seg_size_min": min(h for _, h, _ in pk),
        "label": LABELS[name][0], "class": LABELS[name][1], "end": ENDS[name],
        "dst": ip6_v if ":" in src_ip else ip_v, "dport": int(dport),
        "proto": kind,
    }
    got = {k: (r[k] if k in ("class", "end", "dst", "proto") else int(r[k])) for k in exp}
    for k in exp:
        if got[k] != exp[k]:
            errors.append("%s: %s = %s, expected %s" % (name, k, got[k], exp[k]))
    # Timing: bounded by the gaps slept, and consistent with each other.
    g = gap_of.get(name, gap) * 1e9
    tot, mean, std, mx, mn, pps = (int(r[k]) for k in ("fwd_iat_total_ns", "fwd_iat_mean_ns", "fwd_iat_std_ns",
                                                       "fwd_iat_max_ns", "fwd_iat_min_ns", "fwd_pkts_per_s"))
    if n == 1:
        ok = tot == mean == std == mx == mn == 0 and pps == 10**9
    else:
        ok = ((n - 1) * g * 0.5 <= tot <= (n - 1) * g + 1e9 and mean == tot // (n - 1)
              and g * 0.25 <= mn <= mx <= g + 0.5e9 and std % 1000 == 0 and std <= mx
              and pps == n * 10**9 // tot)
    if not ok:
        errors.append("%s: timing features out of bounds: total %d mean %d std %d max %d min %d pps %d"
                      % (name, tot, mean, std, mx, mn, pps))
    rate = int(r["fwd_bulk_rate_bytes_per_s"])
    if bulks:
        lo = bulk_bytes * 1e9 / ((bulk_pkts - 1) * g + 0.5e9)
        hi = bulk_bytes * 1e9 / ((bulk_pkts - 1) * g * 0.25)
        if not lo <= rate <= hi:
            errors.append("%s: bulk rate %d not in [%d, %d]" % (name, rate, lo, hi))
    elif rate:
        errors.append("%s: bulk rate %d without bulks" % (name, rate))
    if not t0 <= int(r["ts_ns"]) <= t1:
        errors.append("%s: ts_ns %s outside the capture" % (name, r["ts_ns"]))
if errors:
    sys.exit("\n".join(errors))

# The training tools read the capture by feature name.
fl = nd.load_flows(path, features=["fwd_pkt_count", "dst_port", "fwd_header_len"])
assert fl.format == "repro" and fl.X.shape == (len(flows), 3), fl.X.shape
assert sorted(fl.y.tolist()) == sorted(LABELS[f[0]][0] for f in flows)
print("capture: %d flows, every feature as sent" % len(rows))
EOF
grep -q "flows written to $WORK/flows.csv" "$WORK/capture.err" || fail "no capture summary"

# --duration stops by itself, cleanly; SIGTERM too.
vnnbpf capture --iface "$IF_V" --out "$WORK/short.csv" --duration 1 2> "$WORK/short.err" ||
  fail "capture --duration: $(cat "$WORK/short.err")"
grep -q "0 flows written" "$WORK/short.err" || fail "capture --duration: $(cat "$WORK/short.err")"
[[ $(cat "$WORK/short.csv") == "$(head -1 "$WORK/flows.csv")" ]] || fail "capture --duration: not just the header"
harness_start "$NS_V" "$WORK/term.err" "$NNBPF" capture --iface "$IF_V" --out "$WORK/term.csv" ||
  fail "nnbpf capture (SIGTERM case) did not attach"
TERM_PID=$HARNESS_PID
send "$IP_C" 7000 40008 udp 10
harness_stop "$TERM_PID" 5 TERM || fail "capture did not stop on SIGTERM"
[[ $HARNESS_STATUS -eq 0 ]] || fail "capture after SIGTERM: $(cat "$WORK/term.err")"
[[ $(grep -c ",exit," "$WORK/term.csv") -eq 1 ]] || fail "SIGTERM: the live flow was not flushed: $(cat "$WORK/term.csv")"
[[ ! -e /sys/fs/bpf/nnbpf/$IF_V ]] || fail "pins left after SIGTERM"
ip -n "$NS_V" link show "$IF_V" | grep -q xdp && fail "XDP still attached after SIGTERM"
echo "PASS"
