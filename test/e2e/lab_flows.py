#!/usr/bin/python3
"""TCP flows whose every packet the test controls, and the features the
capture must report for them (docs/features.md definitions).

  lab_flows.py send --src ADDR --dst ADDR --port P --flows N --seed S --out EXPECTED.json
      N flows from distinct source ports to a closed port P: a SYN, then 1..8
      data segments (PSH|ACK, payload sizes drawn with the seed, some 0-byte
      ACKs), then FIN|ACK, written with a raw socket (the kernel fills the IP
      header). The victim answers RST; nothing else is sent from ADDR, so the
      flow is exactly these packets. Writes the expected exact features.
  lab_flows.py check --expected EXPECTED.json --csv FLOWS.csv --src ADDR
      one row per flow from ADDR, each with the expected values of every
      feature that does not depend on timing, and IAT features consistent with
      the gaps slept (total >= gaps, mean = total // (n - 1), min <= max).
"""
import argparse
import csv
import json
import random
import socket
import sys
import time

from traffic import tcp_segment  # test/e2e/traffic.py, beside this script

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def segment(src, dst, sport, dport, seq, flags, payload):
    return tcp_segment(src, dst, sport, dport, seq, 1 if flags & ACK else 0, flags, payload, window=65535)


def expected(payloads, flags, port):
    """Exact, timing-free features of one flow (TCP header 20 bytes, no options)."""
    lens = [20 + p for p in payloads]
    n = len(lens)
    mean = sum(lens) // n
    # population std, rounded down, exactly: isqrt of the integer variance numerator
    import math
    var_num = n * sum(x * x for x in lens) - sum(lens) ** 2
    std = math.isqrt(var_num // (n * n)) if var_num >= 0 else 0
    # exact floor(sqrt(var_num / n^2)): isqrt(floor(var_num / n^2)) equals it
    bulks, run = [], []
    for p in payloads:  # gaps are all < 1 s, so only payload-less packets end a run
        if p > 0:
            run.append(p)
        else:
            if len(run) >= 4:
                bulks.append(run)
            run = []
    if len(run) >= 4:
        bulks.append(run)
    e = {
        "dst_port": port, "fwd_pkt_count": n, "fwd_bytes_total": sum(lens), "fwd_pkt_len_max": max(lens),
        "fwd_pkt_len_min": min(lens), "fwd_pkt_len_std": std, "fwd_pkt_len_mean": mean,
        "fwd_psh_count": sum(1 for f in flags if f & PSH), "fwd_urg_count": 0, "fwd_header_len": 20 * n,
        "fwd_seg_size_avg": sum(payloads) // n,
        "fwd_bulk_bytes_avg": sum(sum(b) for b in bulks) // len(bulks) if bulks else 0,
        "fwd_bulk_pkts_avg": sum(len(b) for b in bulks) // len(bulks) if bulks else 0,
        "subflow_fwd_pkts": n, "subflow_fwd_bytes": sum(lens),
        "fwd_act_data_pkts": sum(1 for p in payloads if p > 0), "fwd_seg_size_min": 20,
    }
    return e


def send(a):
    rnd = random.Random(a.seed)
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    sock.bind((a.src, 0))
    flows = {}
    deadline = time.time() + 60
    for i in range(a.flows):
        if time.time() > deadline:
            sys.exit("lab_flows.py: send took over 60 s")
        sport = 40000 + a.seed % 1000 * 10 + i
        payloads, flags = [0], [SYN]
        for _ in range(rnd.randint(1, 8)):
            p = rnd.choice([0, 1, 7, 100, 536, 1000, 1400])
            payloads.append(p)
            flags.append(PSH | ACK if p else ACK)
        payloads.append(0)
        flags.append(FIN | ACK)
        seq = rnd.randrange(1 << 31)
        gaps = []
        for k, (p, f) in enumerate(zip(payloads, flags)):
            if k:
                g = rnd.choice([0.001, 0.003, 0.01])
                time.sleep(g)
                gaps.append(g)
            sock.sendto(segment(a.src, a.dst, sport, a.port, seq, f, bytes(rnd.randrange(256) for _ in range(p))),
                        (a.dst, 0))
            seq = (seq + p + (1 if f & (SYN | FIN) else 0)) & 0xFFFFFFFF
        flows[str(sport)] = {"features": expected(payloads, flags, a.port), "min_gap_ns": int(sum(gaps) * 1e9)}
    with open(a.out, "w") as f:
        json.dump(flows, f, indent=1)
    print("sent %d flows" % a.flows)


def check(a):
    with open(a.expected) as f:
        exp = json.load(f)
    with open(a.csv) as f:
        rows = [r for r in csv.DictReader(f) if r["src"] == a.src]
    errors = []
    got = {}
    for r in rows:
        got.setdefault(r["sport"], []).append(r)
    for sport, e in exp.items():
        rs = got.get(sport, [])
        if len(rs) != 1:
            errors.append("flow %s:%s: %d rows, expected 1" % (a.src, sport, len(rs)))
            continue
        r = rs[0]
        for k, v in e["features"].items():
            if int(r[k]) != v:
                errors.append("flow %s:%s: %s = %s, expected %d" % (a.src, sport, k, r[k], v))
        n = e["features"]["fwd_pkt_count"]
        tot, mean = int(r["fwd_iat_total_ns"]), int(r["fwd_iat_mean_ns"])
        if tot < e["min_gap_ns"] or mean != tot // (n - 1) or int(r["fwd_iat_min_ns"]) > int(r["fwd_iat_max_ns"]):
            errors.append("flow %s:%s: IATs inconsistent: total %d (slept %d), mean %d, min %s, max %s" %
                          (a.src, sport, tot, e["min_gap_ns"], mean, r["fwd_iat_min_ns"], r["fwd_iat_max_ns"]))
        if r["end"] != "fin" or r["proto"] != "tcp":
            errors.append("flow %s:%s: ended by %s/%s, expected fin/tcp" % (a.src, sport, r["end"], r["proto"]))
    extra = set(got) - set(exp)
    if extra:
        errors.append("rows for flows the test did not send: ports %s" % sorted(extra)[:5])
    for e in errors[:20]:
        print("FAIL: " + e)
    if errors:
        sys.exit(1)
    print("%d flows, one row each, exact features" % len(exp))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("send")
    s.add_argument("--src", required=True)
    s.add_argument("--dst", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--flows", type=int, required=True)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--out", required=True)
    c = sub.add_parser("check")
    c.add_argument("--expected", required=True)
    c.add_argument("--csv", required=True)
    c.add_argument("--src", required=True)
    a = p.parse_args()
    {"send": send, "check": check}[a.cmd](a)


if __name__ == "__main__":
    main()
