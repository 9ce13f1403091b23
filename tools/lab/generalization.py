#!/usr/bin/python3
"""Leave-one-scenario-out generalization of lab models (docs/report/generalization.md).

  generalization.py --data DAY.csv [DAY.csv ...] --work DIR [--cap 300] [--epochs 100]
                    [--seed 1] [--only CLASS,...] [--json OUT.json] [--md OUT.md]
                    [--train-arg ARG ...]

DAY.csv: lab captures (tools/lab/dataset.sh: the catalog features, then
label,class,src,...); each file is one day. For every scenario class H (or
those --only names): the training set is every row of the other classes (all
days), balanced like the lab's training sets (tools/lab/evaluate.py balance
--cap), a model is trained on it with examples/train/train.py (--seed,
--epochs, --batch-size 32, plus any --train-arg), and its float verdicts
(the exported ONNX graph in float64, nnbpf_data.OnnxMLP) are taken on every
row of H in every day: H was never seen in training.

Per benign class: flows called intrusions (FPR, flows) and sources with at
least one intrusion verdict (a source is a (day, address) pair: one-verdict
blocking would block it) and with at least 3 verdicts making at least half of
the source's flows (an evidence policy in the style of `--block-after 3
--min-share 0.5`). Per intrusion class: recall on its flows, and sources with
at least one / at least 3 intrusion verdicts. Verdicts are taken at the
model's operating point (logit margin above its nnbpf.min_margin, train.py
--target-fpr) when it has one, and also by argmax (columns "argmax").

Writes DIR/<class>/train.csv (the training rows), model.onnx, verdicts.txt
(verdict,logit0,logit1 per held-out row) and prints the table; --json and --md
write it too. Exit 2 on bad input (one line naming it).
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TRAIN = os.path.join(ROOT, "examples", "train", "train.py")
EVALUATE = os.path.join(HERE, "evaluate.py")


def fail(msg):
    sys.stderr.write("generalization.py: error: %s\n" % msg)
    sys.exit(2)


def read_days(paths):
    header, rows = None, []
    for day, p in enumerate(paths, start=1):
        try:
            f = open(p, newline="")
        except OSError as e:
            fail("--data %s: %s" % (p, e.strerror))
        with f:
            r = csv.reader(f)
            h = next(r, None)
            if not h:
                fail("--data %s: empty file" % p)
            for c in ("label", "class", "src"):
                if c not in h:
                    fail("--data %s: no '%s' column (a lab capture: tools/lab/dataset.sh)" % (p, c))
            if header is None:
                header = h
            elif h != header:
                fail("--data %s: header differs from %s's" % (p, paths[0]))
            li = h.index("label")
            for n, row in enumerate(r, start=2):
                if not row:
                    continue
                if len(row) != len(h):
                    fail("--data %s:%d: %d fields, expected %d" % (p, n, len(row), len(h)))
                if row[li] not in ("0", "1"):
                    fail("--data %s:%d: label %r is not 0 or 1" % (p, n, row[li]))
                rows.append((day, row))
    if not rows:
        fail("--data: no rows")
    return header, rows


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def run(cmd, what):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        tail = (p.stderr.strip().splitlines() or ["(no output)"])[-1]
        fail("%s failed (exit %d): %s" % (what, p.returncode, tail))
    return p.stdout


def held_out(a, header, rows, cls, work):
    ci, li, si = header.index("class"), header.index("label"), header.index("src")
    d = os.path.join(work, cls)
    os.makedirs(d, exist_ok=True)
    pool = [r for _, r in rows if r[ci] != cls]
    test = [(day, r) for day, r in rows if r[ci] == cls]
    if not any(r[li] == "0" for r in pool) or not any(r[li] == "1" for r in pool):
        fail("without '%s' the data has no benign or no intrusion rows to train on" % cls)
    write_csv(os.path.join(d, "pool.csv"), header, pool)
    run([sys.executable, EVALUATE, "balance", "--in", os.path.join(d, "pool.csv"),
         "--out", os.path.join(d, "train.csv"), "--cap", str(a.cap), "--seed", str(a.seed)], "balance")
    os.unlink(os.path.join(d, "pool.csv"))
    model = os.path.join(d, "model.onnx")
    run([sys.executable, TRAIN, "--data", os.path.join(d, "train.csv"), "--out", model, "--seed", str(a.seed),
         "--epochs", str(a.epochs), "--batch-size", "32", "--quiet"] + a.train_arg, "train.py (without %s)" % cls)
    write_csv(os.path.join(d, "test.csv"), header, [r for _, r in test])
    import nnbpf_data
    net = nnbpf_data.OnnxMLP(model)
    feats = None
    for p in net.model.metadata_props:
        if p.key == "nnbpf.features":
            feats = p.value.split(",")
    flows = nnbpf_data.load_flows(os.path.join(d, "test.csv"), features=feats)
    logits = net.run(flows.X)
    margin = None
    for p in net.model.metadata_props:
        if p.key == "nnbpf.min_margin":
            margin = float(p.value)
    argmax = [int(l[1] > l[0]) for l in logits]
    if margin is None:
        pred = argmax
    else:
        pred = [int(l[1] - l[0] > margin) for l in logits]
    with open(os.path.join(d, "verdicts.txt"), "w") as f:
        for v, l in zip(pred, logits):
            f.write("%d,%.6f,%.6f\n" % (v, l[0], l[1]))
    with open(os.path.join(d, "train.csv"), newline="") as f:
        trained = sum(1 for row in csv.reader(f)) - 1
    by_src = {}
    for (day, r), v in zip(test, pred):
        s = by_src.setdefault((day, r[si]), [0, 0])
        s[0] += 1
        s[1] += v
    benign = test[0][1][li] == "0"
    res = {"class": cls, "label": 0 if benign else 1, "flows": len(test), "intrusion_verdicts": sum(pred),
           "rate": sum(pred) / len(test), "sources": len(by_src),
           "sources_any": sum(1 for n, k in by_src.values() if k >= 1),
           "sources_evidence": sum(1 for n, k in by_src.values() if k >= 3 and 2 * k >= n),
           "training_rows": trained, "min_margin": margin,
           "argmax_verdicts": sum(argmax), "argmax_rate": sum(argmax) / len(test),
           "argmax_sources_any": sum(1 for k in by_src_argmax(test, argmax, si).values() if k >= 1)}
    return res


def by_src_argmax(test, verdicts, si):
    out = {}
    for (day, r), v in zip(test, verdicts):
        out[(day, r[si])] = out.get((day, r[si]), 0) + v
    return out


def pct(x):
    return "%.1f %%" % (100 * x)


def table(results):
    """At the model's operating point (min_margin when it has one), then argmax."""
    out = []
    for label, what, rate in ((0, "held-out benign scenario", "FPR"), (1, "held-out attack", "recall")):
        if out:
            out.append("")
        out += ["| %s | flows | %s (flows) | sources with ≥1 intrusion verdict | sources with ≥3 and ≥50 %% "
                "| %s, argmax | sources ≥1, argmax |" % (what, rate, rate),
                "|---|---:|---:|---:|---:|---:|---:|"]
        for r in results:
            if r["label"] == label:
                out.append("| %s | %d | %s (%d) | %d / %d | %d / %d | %s (%d) | %d / %d |" % (
                    r["class"], r["flows"], pct(r["rate"]), r["intrusion_verdicts"], r["sources_any"], r["sources"],
                    r["sources_evidence"], r["sources"], pct(r["argmax_rate"]), r["argmax_verdicts"],
                    r["argmax_sources_any"], r["sources"]))
    return "\n".join(out) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", nargs="+", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--cap", type=int, default=300)
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--only", default="")
    p.add_argument("--json")
    p.add_argument("--md")
    p.add_argument("--train-arg", action="append", default=[],
                   help="an extra argument for train.py (repeat; e.g. --train-arg=--target-fpr --train-arg=0.001)")
    a = p.parse_args()
    if a.cap < 1:
        fail("--cap %d: expected a positive count" % a.cap)
    if a.epochs < 1:
        fail("--epochs %d: expected a positive count" % a.epochs)
    header, rows = read_days(a.data)
    ci, li = header.index("class"), header.index("label")
    classes = {}
    for _, r in rows:
        classes.setdefault(r[ci], r[li])
    order = sorted(classes, key=lambda c: (classes[c], c))
    if a.only:
        want = [c for c in a.only.split(",") if c]
        for c in want:
            if c not in classes:
                fail("--only: no class '%s' in the data (%s)" % (c, ", ".join(order)))
        order = [c for c in order if c in want]
    os.makedirs(a.work, exist_ok=True)
    results = []
    for cls in order:
        t0 = time.time()
        r = held_out(a, header, rows, cls, a.work)
        results.append(r)
        sys.stderr.write("generalization: without %-18s %5d flows, %s %s, sources %d/%d (%.0f s)\n" % (
            cls, r["flows"], "FPR" if r["label"] == 0 else "recall", pct(r["rate"]), r["sources_any"],
            r["sources"], time.time() - t0))
    md = table(results)
    sys.stdout.write(md)
    if a.md:
        with open(a.md, "w") as f:
            f.write(md)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"data": a.data, "cap": a.cap, "epochs": a.epochs, "seed": a.seed,
                       "train_args": a.train_arg, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
