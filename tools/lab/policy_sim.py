#!/usr/bin/python3
"""Replays a lab run's verdicts through nnbpf's blocking policy (docs/run.md,
"Blocking policy") for a grid of settings, to choose defaults from data.

  policy_sim.py --events EVENTS --scenarios SCENARIOS.tsv [--json OUT]
                [--protocols tcp|tcp,udp] [--k 1,2,3] [--share 0,0.5]
                [--window 10] [--margin 0] [--abstain 0,1]

EVENTS is the stamped JSON event stream of `nnbpf run --monitor --json`
(tools/lab/events.py stamp; every flow classified, nothing blocked) of a model
compiled for every protocol; SCENARIOS.tsv is what `lab.sh run` wrote. For
each setting the evidence step is computed exactly as the kernel does it
(bpf_rt/include/nnbpf/evidence.h): per source, NNBPF_EV_BUCKETS = 8 steps of
window / 8 on the events' kernel timestamps (ts_ns), a verdict counting when
it is an intrusion with margin >= M (and, with abstention, not unsure), a
block when the counted verdicts reach K and the share R of the window's
classified flows. A source's first block ends its replay (the lab's blocks
outlast its scenarios). Time to block = the deciding flow's event (wall clock)
minus the scenario's start, as tools/lab/evaluate.py online measures it.

Prints one line per setting: attack scenarios blocked, median and max time to
block, benign sources blocked.
"""
import argparse
import itertools
import json
import statistics
import sys

import evaluate
import events as ev

BUCKETS = 8


def simulate(flows, k, share, window_s, margin, abstain):
    """flows: (ts_ns, t_ns, verdict, margin, unsure) in ts order -> t_ns of the block or None."""
    step = max(int(window_s * 1e9) // BUCKETS, 1)
    b = [[0, 0, 0] for _ in range(BUCKETS)]  # epoch, flows, hits
    share_milli = round(share * 1000)
    for ts, t, verdict, m, unsure in flows:
        if abstain and unsure:
            continue
        epoch = ts // step
        cur = b[epoch % BUCKETS]
        if cur[0] != epoch:
            cur[:] = [epoch, 0, 0]
        cur[1] += 1
        counted = verdict != 0 and m >= margin
        if counted:
            cur[2] += 1
        hits = sum(x[2] for x in b if 0 <= epoch - x[0] < BUCKETS)
        nflows = sum(x[1] for x in b if 0 <= epoch - x[0] < BUCKETS)
        if counted and hits >= k and hits * 1000 >= share_milli * nflows:
            return t
    return None


def floats(text):
    return [float(x) for x in text.split(",") if x]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", required=True)
    ap.add_argument("--scenarios", required=True)
    ap.add_argument("--protocols", default="tcp", help="the model's domain: tcp or tcp,udp")
    ap.add_argument("--k", default="1,2,3,4,5")
    ap.add_argument("--share", default="0,0.25,0.5,0.75")
    ap.add_argument("--window", default="5,10,30")
    ap.add_argument("--margin", default="0")
    ap.add_argument("--abstain", default="0")
    ap.add_argument("--json")
    a = ap.parse_args()
    protos = set(a.protocols.split(","))
    scen = evaluate.read_scenarios(a.scenarios)
    by_src = {}
    for e in ev.read_events(a.events):
        if e.get("event") != "verdict" or e.get("proto") not in protos:
            continue
        if "ts_ns" not in e or "margin" not in e:
            sys.exit("policy_sim.py: error: %s: events without ts_ns/margin (need nnbpf run --json of ABI 2)" % a.events)
        by_src.setdefault(e["src"], []).append(
            (e["ts_ns"], e.get("t_ns", 0), e["verdict"], e["margin"], bool(e.get("unsure"))))
    for v in by_src.values():
        v.sort()
    rows = []
    for k, share, window, margin, abstain in itertools.product(
            [int(x) for x in floats(a.k)], floats(a.share), floats(a.window), floats(a.margin),
            [int(x) for x in floats(a.abstain)]):
        attacks, benign_blocked, ttb = [], [], []
        for s in scen:
            t = simulate(by_src.get(s["src"], []), k, share, window, margin, abstain)
            if s["label"]:
                attacks.append((s["name"], None if t is None else (t - s["start_ns"]) / 1e9))
                if t is not None:
                    ttb.append((t - s["start_ns"]) / 1e9)
            elif t is not None:
                benign_blocked.append(s["name"])
        rows.append({"k": k, "share": share, "window_s": window, "margin": margin, "abstain": abstain,
                     "attacks": len(attacks), "attacks_blocked": len(ttb),
                     "median_ttb_s": statistics.median(ttb) if ttb else None, "max_ttb_s": max(ttb) if ttb else None,
                     "not_blocked": [n for n, t in attacks if t is None], "benign_blocked": benign_blocked,
                     "ttb": dict(attacks)})
    for r in rows:
        print("K=%d R=%.2f W=%gs M=%g abstain=%d: %d/%d attacks blocked, median %s s, max %s s; benign blocked %d %s%s" % (
            r["k"], r["share"], r["window_s"], r["margin"], r["abstain"], r["attacks_blocked"], r["attacks"],
            "%.2f" % r["median_ttb_s"] if r["median_ttb_s"] is not None else "-",
            "%.2f" % r["max_ttb_s"] if r["max_ttb_s"] is not None else "-", len(r["benign_blocked"]),
            ",".join(r["benign_blocked"]), "; not blocked: " + ",".join(r["not_blocked"]) if r["not_blocked"] else ""))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
