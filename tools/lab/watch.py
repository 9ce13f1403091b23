#!/usr/bin/python3
"""Readable live view and summary of nnbpf's events in the lab (tools/demo.sh).

  watch.py follow --events EVENTS.jsonl --labels LABELS [--per-source 3]
      follows the stamped event file (events.py stamp) as it grows and prints a
      line per event: verdicts (the first --per-source of each source and
      verdict, then one line per 250 more) and the first block of each source.
      Stops on SIGTERM/SIGINT.
  watch.py summary --events EVENTS.jsonl --labels LABELS --scenarios SCENARIOS.tsv [--model-note TEXT]
      flows seen, intrusions detected, sources blocked, benign sources untouched.
"""
import argparse
import os
import signal
import sys
import time

import evaluate
import events as ev

RED, GREEN, BOLD, DIM, OFF = "\033[31m", "\033[32m", "\033[1m", "\033[2m", "\033[0m"


def paint(s, c):
    return c + s + OFF if sys.stdout.isatty() else s


def follow(a):
    import json
    nets = ev.load_labels(a.labels)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    seen, t0, blocked = {}, None, set()
    while not os.path.exists(a.events) and not stop:
        time.sleep(0.1)
    with open(a.events) as f:
        buf = ""
        while True:
            chunk = f.readline()
            if not chunk:
                if stop:
                    break
                time.sleep(0.1)
                continue
            buf += chunk
            if not buf.endswith("\n"):
                continue
            line, buf = buf.strip(), ""
            if not line.startswith("{"):
                continue
            try:
                e = json.loads(line)
            except json.JSONDecodeError:
                continue
            t = e.get("t_ns", time.time_ns())
            t0 = t0 or t
            lab = ev.lookup(nets, e["src"]) or (None, "unlabelled")
            who = "%s (%s)" % (lab[1], "intrusion" if lab[0] else "benign") if lab[0] is not None else lab[1]
            stamp = "%+7.1fs" % ((t - t0) / 1e9)
            if e.get("event") == "block":
                if e["src"] in blocked:  # several flows of a source can end in the same instant
                    continue
                blocked.add(e["src"])
                print(paint("%s  BLOCKED    %-15s %s: its later packets are dropped in XDP" % (stamp, e["src"], who), BOLD))
                sys.stdout.flush()
                continue
            k = (e["src"], e["verdict"])
            seen[k] = seen.get(k, 0) + 1
            n = seen[k]
            if n > a.per_source and n % 250:
                continue
            verdict = paint("INTRUSION", RED) if e["verdict"] else paint("benign   ", GREEN)
            more = "" if n <= a.per_source else paint("  [%d flows so far]" % n, DIM)
            print("%s  %s  %s:%d -> %s:%d/%s end=%s  %s%s" % (stamp, verdict, e["src"], e["sport"], e["dst"], e["dport"],
                                                          e["proto"], e["reason"], who, more))
            sys.stdout.flush()


def summary(a):
    r = evaluate.online_eval(a.events, a.labels, a.scenarios)
    srcs = r["sources"]
    o = r["overall"]
    print("flows classified: %d (%d benign verdicts, %d intrusion verdicts); accuracy %.3f, F1 %.3f" %
          (o["flows"], o["tn"] + o["fn"], o["tp"] + o["fp"], o["accuracy"], o["f1"]))
    print("%-13s %-15s %-9s %6s %10s  %s" % ("scenario", "source", "truth", "flows", "intrusion", "outcome"))
    for s in srcs:
        if s["label"]:
            out = ("blocked %.1f s after it started" % s["time_to_block_s"]) if s["blocked"] else \
                ("detected, not blocked" if s["intrusion_verdicts"] else "MISSED (never detected)")
        else:
            out = "BLOCKED (false positive)" if s["blocked"] else \
                ("untouched" if not s["intrusion_verdicts"] else "untouched (%d flows misflagged)" % s["intrusion_verdicts"])
        print("%-13s %-15s %-9s %6d %10d  %s" % (s["scenario"], s["src"], "intrusion" if s["label"] else "benign",
                                                  s["flows"], s["intrusion_verdicts"], out))
    intr = [s for s in srcs if s["label"]]
    ben = [s for s in srcs if not s["label"]]
    det = sum(1 for s in intr if s["intrusion_verdicts"])
    blk = sum(1 for s in intr if s["blocked"])
    untouched = sum(1 for s in ben if not s["blocked"])
    print("intrusions detected: %d of %d intruding sources; sources blocked: %d of %d; "
          "benign sources untouched: %d of %d" % (det, len(intr), blk, len(intr), untouched, len(ben)))
    if a.model_note:
        missed = [s["scenario"] for s in intr if not s["intrusion_verdicts"]]
        false = [s["scenario"] for s in ben if s["blocked"]]
        if missed or false:
            print(a.model_note % {"missed": ", ".join(missed) or "none", "false": ", ".join(false) or "none"})


def main():
    p = argparse.ArgumentParser(description="live view of nnbpf's lab events")
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("follow")
    f.add_argument("--events", required=True)
    f.add_argument("--labels", required=True)
    f.add_argument("--per-source", type=int, default=3)
    s = sub.add_parser("summary")
    s.add_argument("--events", required=True)
    s.add_argument("--labels", required=True)
    s.add_argument("--scenarios", required=True)
    s.add_argument("--model-note")
    a = p.parse_args()
    {"follow": follow, "summary": summary}[a.cmd](a)


if __name__ == "__main__":
    main()
