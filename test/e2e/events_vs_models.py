#!/usr/bin/python3
"""Hot-update check shared by the e2e tests: every verdict event's verdict and
logits must equal, bit for bit, model A's or model B's reference-interpreter
output recomputed from the event's own features (never a mix), and both
models must have classified flows.

usage: events_vs_models.py EVENTS.jsonl DIR_A DIR_B --min N [--what NAME]
(NNBPF in the environment: the nnbpf binary). Exit 1 with the reason."""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile

import nnbpf_manifest


def reference(nnbpf, art, csv_path):
    out = subprocess.run([nnbpf, "infer", art, "--input", csv_path, "--engine", "reference"],
                         check=True, capture_output=True, text=True).stdout
    return [list(map(int, line.split(","))) for line in out.splitlines()]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("events")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--min", type=int, required=True, help="fewest verdict events expected")
    p.add_argument("--what", default="model")
    args = p.parse_args()
    feats = nnbpf_manifest.load(args.a)["features"]
    ev = [json.loads(line) for line in open(args.events)]
    ev = [e for e in ev if e["event"] == "verdict"]
    with tempfile.NamedTemporaryFile("w", suffix=".csv", newline="", delete=False) as f:
        w = csv.writer(f)
        w.writerow(feats)
        for e in ev:
            w.writerow([e["features"][k] for k in feats])
    try:
        ra = reference(os.environ["NNBPF"], args.a, f.name)
        rb = reference(os.environ["NNBPF"], args.b, f.name)
    finally:
        os.unlink(f.name)
    got = [[e["verdict"]] + e["logits"] for e in ev]
    na = sum(g == a for g, a in zip(got, ra))
    nb = sum(g == b and g != a for g, a, b in zip(got, ra, rb))
    bad = [(g, a, b) for g, a, b in zip(got, ra, rb) if g != a and g != b]
    print(f"events: {len(ev)}, {args.what} a: {na}, {args.what} b only: {nb}, neither: {len(bad)}")
    if len(ev) < args.min:
        sys.exit(f"expected >= {args.min} verdict events")
    if bad:
        sys.exit(f"an event matches neither {args.what}: {bad[:3]}")
    if na == 0 or nb == 0:
        sys.exit(f"both {args.what}s must have classified flows")


if __name__ == "__main__":
    main()
