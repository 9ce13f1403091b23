#!/usr/bin/python3
"""Helpers for nnbpf's JSON event stream (`nnbpf run --json`) in the lab.

  events.py stamp < EVENTS > STAMPED
      copies each line, adding "t_ns" (wall clock, ns since the epoch, when the
      line was read) to JSON objects; other lines pass unchanged. Flushes per line.
  events.py to-csv --events STAMPED --labels LABELS --out FLOWS.csv
      one row per verdict event in the capture format: the 24 catalog features
      (catalog order), label, class, src, dst, sport, dport, proto, end, ts_ns.
      label/class come from LABELS (lines `CIDR LABEL CLASS`, longest prefix
      wins); events from sources outside LABELS are left out and counted.

The event stream must come from a model that reads all 24 catalog features
(tools/lab/capture_model.py).
"""
import argparse
import csv
import ipaddress
import json
import sys
import time

import nnbpf_data as nd

TAIL = ["label", "class", "src", "dst", "sport", "dport", "proto", "end", "ts_ns"]


def fail(msg):
    sys.stderr.write("events.py: error: %s\n" % msg)
    sys.exit(2)


def load_labels(path):
    nets = []
    try:
        with open(path) as f:
            for no, line in enumerate(f, 1):
                line = line.split("#", 1)[0].strip()
                if not line:
                    continue
                parts = line.split()
                if len(parts) != 3 or parts[1] not in ("0", "1"):
                    fail("%s:%d: expected 'CIDR LABEL(0|1) CLASS', got %r" % (path, no, line))
                try:
                    net = ipaddress.ip_network(parts[0], strict=False)
                except ValueError:
                    fail("%s:%d: %r is not a CIDR" % (path, no, parts[0]))
                nets.append((net, int(parts[1]), parts[2]))
    except OSError as e:
        fail("%s: %s" % (path, e.strerror))
    nets.sort(key=lambda t: -t[0].prefixlen)
    return nets


def lookup(nets, addr):
    a = ipaddress.ip_address(addr)
    for net, label, cls in nets:
        if a.version == net.version and a in net:
            return label, cls
    return None


def read_events(path):
    try:
        f = open(path)
    except OSError as e:
        fail("%s: %s" % (path, e.strerror))
    with f:
        for no, line in enumerate(f, 1):
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as e:
                fail("%s:%d: bad JSON: %s" % (path, no, e.msg))


def stamp(_args):
    for line in sys.stdin:
        s = line.rstrip("\n")
        if s.startswith("{"):
            try:
                e = json.loads(s)
                e["t_ns"] = time.time_ns()
                s = json.dumps(e, separators=(",", ":"))
            except json.JSONDecodeError:
                pass
        sys.stdout.write(s + "\n")
        sys.stdout.flush()


def to_csv(args):
    names = [f.name for f in nd.load_catalog()]
    nets = load_labels(args.labels)
    rows = skipped = 0
    with open(args.out, "w", newline="") as out:
        w = csv.writer(out)
        w.writerow(names + TAIL)
        for e in read_events(args.events):
            if e.get("event") != "verdict":
                continue
            feats = e.get("features", {})
            missing = [n for n in names if n not in feats]
            if missing:
                fail("%s: events lack features %s: use a model reading all 24 (capture_model.py)"
                     % (args.events, ",".join(missing[:3])))
            lab = lookup(nets, e["src"])
            if lab is None:
                skipped += 1
                continue
            w.writerow([feats[n] for n in names] + [lab[0], lab[1], e["src"], e["dst"], e["sport"], e["dport"],
                                                   e["proto"], e["reason"], e.get("t_ns", 0)])
            rows += 1
    sys.stderr.write("events.py: %d flows -> %s%s\n" % (rows, args.out,
                     " (%d from unlabelled sources left out)" % skipped if skipped else ""))


def main():
    p = argparse.ArgumentParser(description="nnbpf event-stream helpers for the lab")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("stamp")
    c = sub.add_parser("to-csv")
    c.add_argument("--events", required=True)
    c.add_argument("--labels", required=True)
    c.add_argument("--out", required=True)
    a = p.parse_args()
    {"stamp": stamp, "to-csv": to_csv}[a.cmd](a)


if __name__ == "__main__":
    main()
