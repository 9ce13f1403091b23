#!/usr/bin/python3
"""Metrics of the lab's evaluations (docs/lab.md).

  evaluate.py offline --data DAY2.csv --verdicts VERDICTS.txt
      DAY2.csv: a capture CSV (features, label, class, ...); VERDICTS.txt: one
      `verdict,logit0,logit1` line per row (nnbpf infer). Prints per-class
      accuracy and overall metrics.
  evaluate.py online --events EVENTS.jsonl --labels LABELS --scenarios SCENARIOS.tsv [--json OUT.json]
      EVENTS: stamped `nnbpf run --json` events (events.py stamp); LABELS: `CIDR
      LABEL CLASS`; SCENARIOS.tsv: lab.sh run's record (name, src, label, class,
      start_ns, end_ns, rc, summary). Prints per-class accuracy, MTTF, F1, and
      per source whether and how fast it was blocked.
  evaluate.py balance --in DAY1.csv --out TRAIN.csv [--cap 300] [--seed 1]
      at most CAP rows per benign class and max(20, benign rows / intrusion
      classes) per intrusion class (a seeded sample): scans make a thousand
      flows each, a brute force a few dozen; the training set should be
      neither all scans nor mostly intrusions.
  evaluate.py report --dataset DIR --online DIR --out REPORT.md
      Writes the markdown report with PNG plots next to it (matplotlib).

Per-class accuracy: share of the class's classified flows whose verdict equals
the label. MTTF of a class: its flows in time order, the mean number of flows
from one misclassification to the next (the first gap counted from the
class's first flow); a class without errors has MTTF "none failed (n)".
Time to block: from the scenario's start (its tool launched) to the block
event's arrival; with --first-packets DIR (tools/lab/lib.bash
first_packets_start) also from the source's first packet at the victim, which
on a loaded machine can follow the launch by seconds.
"""
import argparse
import csv
import json
import math
import os
import sys

import events as ev
import nnbpf_manifest


def fail(msg):
    sys.stderr.write("evaluate.py: error: %s\n" % msg)
    sys.exit(2)


def binary(y, p):
    tp = sum(1 for a, b in zip(y, p) if a == 1 and b == 1)
    tn = sum(1 for a, b in zip(y, p) if a == 0 and b == 0)
    fp = sum(1 for a, b in zip(y, p) if a == 0 and b == 1)
    fn = sum(1 for a, b in zip(y, p) if a == 1 and b == 0)
    n = len(y)
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    den = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    mcc = (tp * tn - fp * fn) / den if den else 0.0
    return {"flows": n, "accuracy": (tp + tn) / n if n else 0.0, "precision": prec, "recall": rec, "f1": f1,
            "mcc": mcc, "tp": tp, "tn": tn, "fp": fp, "fn": fn}


def mttf(errors):
    """errors: list of bools in time order -> (mean flows between errors or None, n_errors)."""
    idx = [i for i, e in enumerate(errors) if e]
    if not idx:
        return None, 0
    gaps = [idx[0] + 1] + [b - a for a, b in zip(idx, idx[1:])]
    return sum(gaps) / len(gaps), len(idx)


def per_class(rows):
    """rows: (class, label, verdict) in time order -> {class: stats}."""
    out = {}
    for cls, label, verdict in rows:
        d = out.setdefault(cls, {"label": label, "flows": 0, "correct": 0, "errors": []})
        d["flows"] += 1
        d["correct"] += verdict == label
        d["errors"].append(verdict != label)
    for d in out.values():
        d["accuracy"] = d["correct"] / d["flows"]
        d["mttf"], d["n_errors"] = mttf(d.pop("errors"))
    return out


# --- offline -------------------------------------------------------------------------

def offline_rows(data, verdicts):
    try:
        with open(data) as f:
            rows = list(csv.DictReader(f))
        with open(verdicts) as f:
            vs = [int(line.split(",")[0]) for line in f if line.strip()]
    except OSError as e:
        fail("%s: %s" % (e.filename, e.strerror))
    if len(rows) != len(vs):
        fail("%s has %d rows, %s %d verdicts" % (data, len(rows), verdicts, len(vs)))
    rows = [(r["class"], int(r["label"]), v, int(r["ts_ns"] or 0)) for r, v in zip(rows, vs)]
    rows.sort(key=lambda r: r[3])
    return [r[:3] for r in rows]


def range_use(data, manifest):
    """(b, rows with a value outside the ranges the model was quantized for,
    rows the kernel clamps) of a compiled model on a capture."""
    if not os.path.exists(manifest):
        return None
    try:
        m = nnbpf_manifest.load(manifest)
    except nnbpf_manifest.ManifestError as e:
        fail(str(e))
    try:
        with open(data) as f:
            rows = list(csv.DictReader(f))
    except OSError:
        return None
    ins = m["inputs"]
    outside = clamped = 0
    for r in rows:
        xs = [int(r[i["feature"]]) for i in ins]
        outside += any(not i.get("data_lo", i["lo"]) <= x <= i.get("data_hi", i["hi"]) for x, i in zip(xs, ins))
        clamped += any(not i["lo"] <= x <= i["hi"] for x, i in zip(xs, ins))
    return m["quant"]["b"], outside, clamped


def offline(a):
    rows = offline_rows(a.data, a.verdicts)
    m = binary([r[1] for r in rows], [r[2] for r in rows])
    print("%d flows: accuracy %.4f precision %.4f recall %.4f F1 %.4f MCC %.4f" %
          (m["flows"], m["accuracy"], m["precision"], m["recall"], m["f1"], m["mcc"]))
    for cls, d in sorted(per_class(rows).items()):
        print("  %-13s %6d flows  accuracy %.4f" % (cls, d["flows"], d["accuracy"]))


def balance(a):
    """Caps every class at --cap rows, and each intrusion class at
    max(20, benign rows kept / number of intrusion classes), so intrusions do
    not outnumber benign flows (a seeded sample, file order kept)."""
    import random
    with open(a.input) as f:
        r = csv.reader(f)
        header = next(r)
        rows = list(r)
    ci = header.index("class")
    by = {}
    for i, row in enumerate(rows):
        by.setdefault(row[ci], []).append(i)
    li = header.index("label")
    rnd = random.Random(a.seed)
    benign = sum(min(len(idx), a.cap) for idx in by.values() if rows[idx[0]][li] == "0")
    n_intr = sum(1 for idx in by.values() if rows[idx[0]][li] == "1")
    icap = min(a.cap, max(20, benign // max(n_intr, 1)))
    keep, kept = set(), {}
    for cls, idx in sorted(by.items()):
        cap = a.cap if rows[idx[0]][li] == "0" else icap
        chosen = idx if len(idx) <= cap else rnd.sample(idx, cap)
        keep.update(chosen)
        kept[cls] = len(chosen)
    with open(a.out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(row for i, row in enumerate(rows) if i in keep)
    print("%d of %d flows (benign classes at most %d, intrusion classes at most %d): %s" % (
        len(keep), len(rows), a.cap, icap, ", ".join("%s %d" % kv for kv in sorted(kept.items()))))


# --- online ----------------------------------------------------------------------------

def read_scenarios(path):
    out = []
    try:
        with open(path) as f:
            for line in f:
                p = line.rstrip("\n").split("\t")
                if len(p) >= 7:
                    out.append({"name": p[0], "src": p[1], "label": int(p[2]), "class": p[3],
                                "start_ns": int(p[4]), "end_ns": int(p[5]), "rc": int(p[6]),
                                "summary": p[7] if len(p) > 7 else ""})
    except OSError as e:
        fail("%s: %s" % (path, e.strerror))
    return out


def read_first_packets(path):
    """{src: ns since the epoch} from DIR/<ip> files of `tcpdump -tt -c 1`."""
    out = {}
    if not path:
        return out
    try:
        names = os.listdir(path)
    except OSError as e:
        fail("%s: %s" % (path, e.strerror))
    for name in names:
        if name.endswith(".err"):
            continue
        with open(os.path.join(path, name)) as f:
            line = f.readline().split()
        if line:
            sec, _, usec = line[0].partition(".")
            out[name] = int(sec) * 10**9 + int(usec.ljust(6, "0")[:6]) * 1000
    return out


def online_eval(events_path, labels_path, scenarios_path, first_packets=None):
    nets = ev.load_labels(labels_path)
    scen = read_scenarios(scenarios_path)
    first = read_first_packets(first_packets)
    verdicts, blocks, unlabelled = [], {}, 0
    for e in ev.read_events(events_path):
        if e.get("event") == "block":
            blocks.setdefault(e["src"], e.get("t_ns", 0))
            continue
        if e.get("event") != "verdict":
            continue
        lab = ev.lookup(nets, e["src"])
        if lab is None:
            unlabelled += 1
            continue
        verdicts.append({"t_ns": e.get("t_ns", 0), "src": e["src"], "label": lab[0], "class": lab[1],
                         "verdict": e["verdict"], "dport": e["dport"], "reason": e["reason"]})
    verdicts.sort(key=lambda v: v["t_ns"])
    overall = binary([v["label"] for v in verdicts], [v["verdict"] for v in verdicts])
    classes = per_class([(v["class"], v["label"], v["verdict"]) for v in verdicts])
    sources = []
    for s in scen:
        mine = [v for v in verdicts if v["src"] == s["src"]]
        b = blocks.get(s["src"])
        before = [v for v in mine if b is None or v["t_ns"] <= b]
        sources.append({"scenario": s["name"], "src": s["src"], "label": s["label"], "class": s["class"],
                        "start_ns": s["start_ns"], "end_ns": s["end_ns"], "flows": len(mine),
                        "intrusion_verdicts": sum(v["verdict"] for v in mine), "blocked": b is not None,
                        "block_ns": b, "time_to_block_s": (b - s["start_ns"]) / 1e9 if b is not None else None,
                        "flows_before_block": len(before), "first_packet_ns": first.get(s["src"]),
                        "time_to_block_from_first_packet_s":
                            (b - first[s["src"]]) / 1e9 if b is not None and s["src"] in first else None})
    return {"overall": overall, "classes": classes, "sources": sources, "unlabelled": unlabelled,
            "verdicts": verdicts}


def median(xs):
    xs = sorted(xs)
    if not xs:
        return None
    m = len(xs) // 2
    return xs[m] if len(xs) % 2 else (xs[m - 1] + xs[m]) / 2


def fmt_mttf(d):
    return "%.1f" % d["mttf"] if d["mttf"] is not None else "none failed (%d)" % d["flows"]


def online(a):
    r = online_eval(a.events, a.labels, a.scenarios, a.first_packets)
    o = r["overall"]
    print("%d flows classified: accuracy %.4f precision %.4f recall %.4f F1 %.4f" %
          (o["flows"], o["accuracy"], o["precision"], o["recall"], o["f1"]))
    for cls, d in sorted(r["classes"].items()):
        print("  %-13s %6d flows  accuracy %.4f  MTTF %s" % (cls, d["flows"], d["accuracy"], fmt_mttf(d)))
    for s in r["sources"]:
        what = ("blocked after %.2f s (%d flows classified first)" % (s["time_to_block_s"], s["flows_before_block"])
                if s["blocked"] else "not blocked")
        if s["time_to_block_from_first_packet_s"] is not None:
            what += ", %.2f s after its first packet" % s["time_to_block_from_first_packet_s"]
        print("  %-15s %-13s %s" % (s["src"], s["scenario"], what))
    intr = [s for s in r["sources"] if s["label"]]
    tb = [s["time_to_block_s"] for s in intr if s["blocked"]]
    print("attacks blocked %d of %d (median time to block %s, max %s); benign sources blocked %d of %d" % (
        len(tb), len(intr), "%.2f s" % median(tb) if tb else "-", "%.2f s" % max(tb) if tb else "-",
        sum(s["blocked"] for s in r["sources"] if not s["label"]), len(r["sources"]) - len(intr)))
    tf = [s["time_to_block_from_first_packet_s"] for s in intr if s["time_to_block_from_first_packet_s"] is not None]
    if tf:
        print("time to block from the first packet at the victim: median %.2f s, max %.2f s (%d attacks)" % (
            median(tf), max(tf), len(tf)))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({k: v for k, v in r.items() if k != "verdicts"}, f, indent=1)


# --- report --------------------------------------------------------------------------

def plots(r, off_classes, outdir):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Per-class accuracy, offline (day-2 capture, kernel engine) vs. online.
    names = sorted(set(r["classes"]) | set(off_classes), key=lambda c: (not c.startswith("benign"), c))
    x = range(len(names))
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.bar([i - 0.2 for i in x], [off_classes.get(c, {}).get("accuracy", 0) for c in names], 0.4,
           label="offline: day-2 capture, kernel engine (all flows)")
    ax.bar([i + 0.2 for i in x], [r["classes"].get(c, {}).get("accuracy", 0) for c in names], 0.4,
           label="online: deployed on the victim (flows before the block)")
    ax.set_xticks(list(x))
    ax.set_xticklabels(names, rotation=40, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("per-class accuracy")
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "online-accuracy.png"), dpi=110)
    plt.close(fig)

    # Timeline (paper Fig. 7): one row per source; verdicts and the block.
    srcs = r["sources"]
    if not srcs:
        return
    t0 = min(s["start_ns"] for s in srcs)
    fig, ax = plt.subplots(figsize=(10, 0.35 * len(srcs) + 1.2))
    for i, s in enumerate(srcs):
        ax.plot([(s["start_ns"] - t0) / 1e9, (s["end_ns"] - t0) / 1e9], [i, i], color="0.8", lw=6,
                solid_capstyle="butt")
        mine = [v for v in r["verdicts"] if v["src"] == s["src"]]
        ok = [(v["t_ns"] - t0) / 1e9 for v in mine if v["verdict"] == 0]
        bad = [(v["t_ns"] - t0) / 1e9 for v in mine if v["verdict"] == 1]
        ax.plot(ok, [i] * len(ok), "|", color="tab:green", ms=8)
        ax.plot(bad, [i] * len(bad), "|", color="tab:red", ms=8)
        if s["blocked"]:
            ax.plot([(s["block_ns"] - t0) / 1e9], [i], "kX", ms=9)
    ax.set_yticks(range(len(srcs)))
    ax.set_yticklabels(["%s (%s)" % (s["scenario"], "intrusion" if s["label"] else "benign") for s in srcs])
    ax.invert_yaxis()
    ax.set_xlabel("seconds since the first scenario started")
    ax.set_title("grey: scenario running; green/red ticks: flow classified benign/intrusion; X: source blocked")
    ax.title.set_fontsize(9)
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "online-timeline.png"), dpi=110)
    plt.close(fig)

    # Time to block per intruding source.
    intr = [s for s in srcs if s["label"] == 1]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.bar([s["scenario"] for s in intr], [s["time_to_block_s"] if s["blocked"] else 0 for s in intr],
           color=["tab:blue" if s["blocked"] else "tab:gray" for s in intr])
    for i, s in enumerate(intr):
        if not s["blocked"]:
            ax.text(i, 0, "not\nblocked", ha="center", va="bottom", fontsize=7)
    ax.set_ylabel("time to block, s")
    ax.set_xticks(range(len(intr)))
    ax.set_xticklabels([s["scenario"] for s in intr], rotation=40, ha="right")
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "online-time-to-block.png"), dpi=110)
    plt.close(fig)


def report(a):
    ds, on = a.dataset, a.online
    r = online_eval(os.path.join(on, "events.jsonl"), os.path.join(on, "labels"), os.path.join(on, "scenarios.tsv"))
    day2 = os.path.join(ds, "day2.csv")
    models = []  # (name, features, holdout, float metrics, kernel metrics, kernel rows)
    for name in ("lab-model", "lab-model-top6"):
        kf = os.path.join(ds, name + "-day2-kernel.txt")
        if not os.path.exists(kf):
            continue
        krows = offline_rows(day2, kf)
        frows = offline_rows(day2, os.path.join(ds, name + "-day2-float.txt"))
        try:
            with open(os.path.join(ds, name + "-holdout.json")) as f:
                h = json.load(f)
        except (OSError, json.JSONDecodeError):
            h = {}
        models.append((name, h.get("features", []), h.get("heldout"),
                       binary([x[1] for x in frows], [x[2] for x in frows]),
                       binary([x[1] for x in krows], [x[2] for x in krows]), krows,
                       sum(fr[2] == kr[2] for fr, kr in zip(frows, krows)) / max(1, len(krows)),
                       range_use(day2, os.path.join(ds, name, "manifest.json"))))
    if not models:
        fail("%s: no lab-model-day2-kernel.txt (run tools/lab/dataset.sh)" % ds)
    off_classes = per_class(models[0][5])
    meta = {}
    try:
        with open(os.path.join(on, "meta.json")) as f:
            meta = json.load(f)
    except (OSError, json.JSONDecodeError):
        pass
    outdir = os.path.dirname(os.path.abspath(a.out))
    os.makedirs(outdir, exist_ok=True)
    plots(r, off_classes, outdir)

    def count_rows(p):
        with open(p) as f:
            return sum(1 for _ in f) - 1

    def cls_counts(p):
        c = {}
        with open(p) as f:
            for row in csv.DictReader(f):
                c[row["class"]] = c.get(row["class"], 0) + 1
        return c

    d1, d2 = cls_counts(os.path.join(ds, "day1.csv")), cls_counts(os.path.join(ds, "day2.csv"))
    L = []
    w = L.append
    w("# Online evaluation in the live lab (paper §V-C, Table VII, Fig. 7)")
    w("")
    w("<!-- Generated by tools/lab/report.sh; do not edit. -->")
    w("")
    w("Regenerate with `sudo tools/lab/report.sh` (about %s minutes on 2 cores). "
      "The lab, the scenarios and the capture are described in [docs/lab.md](../lab.md)." %
      meta.get("minutes", "10"))
    w("")
    w("Run: %s, kernel %s, capture via %s." % (meta.get("date", "?"), meta.get("kernel", "?"),
                                               meta.get("capture", "?")))
    w("")
    w("## Data: two days of lab traffic")
    w("")
    w("Day 1 and day 2 run every scenario of `tools/lab/lab.sh list` from its own source address, with "
      "different seeds (counts, gaps, passwords, pages), scenario orders and pacing "
      "(`tools/lab/dataset.sh`). Flows per class:")
    w("")
    w("| class | label | day 1 flows | day 2 flows |")
    w("|---|---:|---:|---:|")
    for c in sorted(set(d1) | set(d2), key=lambda c: (not c.startswith("benign"), c)):
        w("| %s | %d | %d | %d |" % (c, 0 if c.startswith("benign") else 1, d1.get(c, 0), d2.get(c, 0)))
    w("| **total** | | %d | %d |" % (count_rows(os.path.join(ds, "day1.csv")), count_rows(os.path.join(ds, "day2.csv"))))
    w("")
    w("## Models")
    w("")
    w("`examples/train/train.py` on day 1, at most 300 flows per benign class and as many per intrusion "
      "class as keeps intrusions from outnumbering benign flows (`evaluate.py balance`; scans make a thousand "
      "flows each), the paper's MLP [F, 32, 32, 2], batch 32, 200 epochs; compiled by `nnbpf compile` with "
      "default options. `lab-model` is deployed; `lab-model-top6` reads the paper's top-6 features, for comparison.")
    w("")
    w("| model | features | day-1 hold-out accuracy | F1 | MCC |")
    w("|---|---|---:|---:|---:|")
    for name, feats, hold, *_ in models:
        w("| %s | %s | %s | %s | %s |" % (name, "all 24" if len(feats) == 24 else "`" + ",".join(feats) + "`",
          *(("%.4f" % hold[k]) if hold else "-" for k in ("accuracy", "f1", "mcc"))))
    w("")
    w("## Offline: day-1 models on the day-2 capture")
    w("")
    w("| model | engine | flows | accuracy | precision | recall | F1 | MCC |")
    w("|---|---|---:|---:|---:|---:|---:|---:|")
    for name, _, _, mf, mk, *_ in models:
        for eng, m in (("float (ONNX)", mf), ("kernel (BPF_PROG_TEST_RUN)", mk)):
            w("| %s | %s | %d | %.4f | %.4f | %.4f | %.4f | %.4f |" %
              (name, eng, m["flows"], m["accuracy"], m["precision"], m["recall"], m["f1"], m["mcc"]))
    w("")
    w("Kernel against float on the same day-2 flows: verdict agreement, the scale b, how many flows have a "
      "feature outside the day-1 ranges the model was quantized for (`nnbpf.input_ranges`: twice the training "
      "maximum), and how many the kernel clamps (`nnbpf compile`'s default `--clamp widest` clamps only where "
      "int32 would overflow; [semantics.md](../semantics.md#clamp)).")
    w("")
    w("| model | kernel = float | b | flows outside the input ranges | flows clamped |")
    w("|---|---:|---:|---:|---:|")
    for name, _, _, _, mk, _, agree, use in models:
        b, outside, clamped = use if use else ("-", "-", "-")
        w("| %s | %.4f%% | %s | %s | %s |" % (name, 100 * agree, b, outside, clamped))
    if len(models) > 1:
        w("")
        w("Per class on day 2 (kernel engine):")
        w("")
        w("| class | flows | %s |" % " | ".join(m[0] for m in models))
        w("|---|---:|%s" % ("---:|" * len(models)))
        pcs = [per_class(m[5]) for m in models]
        for c in sorted(pcs[0], key=lambda c: (not c.startswith("benign"), c)):
            w("| %s | %d | %s |" % (c, pcs[0][c]["flows"], " | ".join("%.4f" % pc[c]["accuracy"] for pc in pcs)))
    w("")
    w("## Online: the day-1 model deployed on the victim during day 2 (Table VII)")
    w("")
    w("`nnbpf run` on the victim's interface, blocking on (`%s`), while day 2's scenarios run "
      "again with day 2's seed. Every classified flow is an event; blocked sources' later packets "
      "are dropped in XDP and start no flows." % meta.get("run_args", ""))
    w("")
    o = r["overall"]
    w("Overall: **%d flows classified, accuracy %.4f, precision %.4f, recall %.4f, F1 %.4f** "
      "(confusion tn %d, fp %d, fn %d, tp %d)." %
      (o["flows"], o["accuracy"], o["precision"], o["recall"], o["f1"], o["tn"], o["fp"], o["fn"], o["tp"]))
    w("")
    w("| class | label | flows | correct | accuracy | errors | MTTF (flows) | offline accuracy (day 2, same model) |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|")
    for c in sorted(set(r["classes"]) | set(off_classes), key=lambda c: (not c.startswith("benign"), c)):
        d = r["classes"].get(c)
        oc = off_classes.get(c)
        if d:
            w("| %s | %d | %d | %d | %.4f | %d | %s | %s |" % (c, d["label"], d["flows"], d["correct"], d["accuracy"],
              d["n_errors"], fmt_mttf(d), "%.4f" % oc["accuracy"] if oc else "-"))
        else:
            w("| %s | | 0 | | | | | %s |" % (c, "%.4f" % oc["accuracy"] if oc else "-"))
    w("")
    w("MTTF: a class's flows in time order, the mean number of flows from one misclassification to the next "
      "(the first gap counted from its first flow); *none failed (n)*: no error among its n flows.")
    w("")
    w("![per-class accuracy](online-accuracy.png)")
    w("")
    w("### Blocking per source")
    w("")
    w("| source | scenario | label | flows classified | intrusion verdicts | blocked | time to block | flows before the block |")
    w("|---|---|---:|---:|---:|---|---:|---:|")
    for s in r["sources"]:
        w("| %s | %s | %d | %d | %d | %s | %s | %s |" % (
            s["src"], s["scenario"], s["label"], s["flows"], s["intrusion_verdicts"], "yes" if s["blocked"] else "no",
            "%.2f s" % s["time_to_block_s"] if s["blocked"] else "-",
            s["flows_before_block"] if s["blocked"] else "-"))
    intr = [s for s in r["sources"] if s["label"] == 1]
    ben = [s for s in r["sources"] if s["label"] == 0]
    tb = sorted(s["time_to_block_s"] for s in intr if s["blocked"])
    w("")
    w("Intruding sources blocked: **%d of %d**%s; benign sources blocked: **%d of %d**." % (
        len(tb), len(intr), " (median time to block %.2f s)" % median(tb) if tb else "",
        sum(s["blocked"] for s in ben), len(ben)))
    w("")
    w("Time to block runs from the scenario's start (its tool launched; its first packet follows within "
      "milliseconds) to the block event's arrival in user space. Flows that never end (scans' probes, "
      "UDP, half-open connections) are classified at the idle timeout, which bounds how fast a scan is "
      "stopped.")
    w("")
    w("![timeline](online-timeline.png)")
    w("")
    w("![time to block](online-time-to-block.png)")
    w("")
    ovh = os.path.join(os.path.dirname(os.path.abspath(a.out)), "overhead.md")
    if os.path.exists(ovh):
        w("## Overhead on the wire (paper Table VIII, Fig. 9)")
        w("")
        w("From its own run of `sudo tools/lab/overhead.sh` ([overhead.md](overhead.md), raw runs in "
          "overhead_runs.csv and overhead_bpf.csv); docs/PERFORMANCE.md discusses it.")
        w("")
        L.extend(open(ovh).read().rstrip("\n").split("\n"))
        w("")
        w("![overhead](overhead.png)")
        w("")
    with open(a.out, "w") as f:
        f.write("\n".join(L))
    with open(os.path.join(on, "online.json"), "w") as f:
        json.dump({k: v for k, v in r.items() if k != "verdicts"}, f, indent=1)
    print("wrote %s" % a.out)


def main():
    p = argparse.ArgumentParser(description="lab evaluation metrics")
    sub = p.add_subparsers(dest="cmd", required=True)
    o = sub.add_parser("offline")
    o.add_argument("--data", required=True)
    o.add_argument("--verdicts", required=True)
    n = sub.add_parser("online")
    n.add_argument("--events", required=True)
    n.add_argument("--labels", required=True)
    n.add_argument("--scenarios", required=True)
    n.add_argument("--first-packets", help="directory of first_packets_start (tools/lab/lib.bash)")
    n.add_argument("--json")
    b = sub.add_parser("balance")
    b.add_argument("--in", dest="input", required=True)
    b.add_argument("--out", required=True)
    b.add_argument("--cap", type=int, default=300)
    b.add_argument("--seed", type=int, default=1)
    r = sub.add_parser("report")
    r.add_argument("--dataset", required=True)
    r.add_argument("--online", required=True)
    r.add_argument("--out", required=True)
    a = p.parse_args()
    {"offline": offline, "online": online, "balance": balance, "report": report}[a.cmd](a)


if __name__ == "__main__":
    main()
