#!/usr/bin/python3
"""Helpers for nnbpf's JSON event stream (`nnbpf run --json`) in the lab.

  events.py stamp < EVENTS > STAMPED
      copies each line, adding "t_ns" (wall clock, ns since the epoch, when the
      line was read) to JSON objects; other lines pass unchanged. Flushes per line.

and, for the lab's readers (evaluate.py, watch.py, policy_sim.py):
load_labels (lines `CIDR LABEL CLASS`), lookup (longest prefix wins) and
read_events (the JSON objects of an event file).
"""
import argparse
import ipaddress
import json
import sys
import time


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


def main():
    p = argparse.ArgumentParser(description="nnbpf event-stream helpers for the lab")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("stamp")
    a = p.parse_args()
    {"stamp": stamp}[a.cmd](a)


if __name__ == "__main__":
    main()
