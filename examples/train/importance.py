#!/usr/bin/python3
"""Feature importance and cumulative top-K performance (paper §V-B, Fig. 5).

1. Ranks the catalog features present in the data by the Gini importance of
   a decision tree (sklearn, criterion gini, max depth 10 as in the paper,
   fixed seed) fitted on the training split.
2. For K = 1..max-k trains the MLP of train.py on the top-K features (same
   split, same recipe, by default fewer epochs) and evaluates the exported
   ONNX graph (numpy float model) on the held-out split.

Writes into --out-dir: importance.csv (the ranking), cumulative.csv (the
top-K curve) and cumulative.png (the plot). See examples/train/README.md.
"""

import argparse
import csv
import os
import sys
import time

import nnbpf_data as nd
import train as tr
from nnbpf_data import DataError


def fail(msg, code=2):
    sys.stderr.write("importance.py: error: %s\n" % msg)
    sys.exit(code)


def build_parser():
    p = argparse.ArgumentParser(
        prog="importance.py",
        description="Decision-tree Gini importance of the catalog features in a flow CSV "
                    "and the MLP's cumulative top-K performance (paper Fig. 5).")
    tr.add_common_args(p)
    p.add_argument("--out-dir", required=True, metavar="DIR",
                   help="where importance.csv, cumulative.csv and cumulative.png go "
                        "(created if missing)")
    p.add_argument("--features", metavar="a,b,...",
                   help="candidate features (default: every catalog feature in the data)")
    p.add_argument("--epochs", type=int, default=32,
                   help="MLP epochs per K (default 32, as train.py; lower it for big data)")
    p.add_argument("--max-k", type=int, default=0,
                   help="largest K of the curve (default: all candidate features)")
    p.add_argument("--max-depth", type=int, default=10,
                   help="decision-tree max depth (default 10, as in the paper)")
    p.add_argument("--no-curve", action="store_true",
                   help="only the ranking (no MLP training, no plot)")
    p.add_argument("--quiet", action="store_true", help="no per-K progress")
    return p


def gini_ranking(X, y, columns, max_depth, seed):
    """[(name, importance)] sorted by importance descending (stable on ties:
    column order)."""
    from sklearn.tree import DecisionTreeClassifier
    dt = DecisionTreeClassifier(criterion="gini", max_depth=max_depth, random_state=seed)
    dt.fit(X, y)
    imp = dt.feature_importances_
    order = sorted(range(len(columns)), key=lambda j: (-imp[j], j))
    return [(columns[j], float(imp[j])) for j in order], dt


def plot(rows, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ks = [r["k"] for r in rows]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(ks) + 2.5), 4.2))
    ax2 = ax.twinx()
    ax2.bar(ks, [r["importance"] for r in rows], color="0.85", width=0.6,
            label="Gini importance of the added feature")
    ax2.set_ylabel("Gini importance")
    ax2.set_ylim(0, 1)
    for key, style in (("accuracy", "o-"), ("precision", "s-"), ("recall", "^-"),
                       ("f1", "D-"), ("mcc", "x--")):
        ax.plot(ks, [r[key] for r in rows], style, label={"f1": "F1", "mcc": "MCC"}.get(key, key),
                markersize=4)
    ax.set_zorder(ax2.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.set_xticks(ks)
    ax.set_xticklabels(["%d\n(#%d)" % (r["k"], r["table_iv"]) for r in rows], fontsize=7)
    ax.set_xlabel("top-K features (cumulative; # = Table IV number of the K-th)")
    ax.set_ylabel("held-out score")
    lo = min(min(r[k] for k in ("accuracy", "precision", "recall", "f1", "mcc")) for r in rows)
    ax.set_ylim(max(0.0, lo - 0.05), 1.005)
    ax.grid(True, alpha=0.3)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="lower right", fontsize=7)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    t0 = time.time()
    try:
        hidden = tr.parse_hidden(args.hidden)
        features = tr.parse_features(args.features)
        tr.parse_test_size(args.test_size)
        if args.epochs < 1:
            raise DataError("--epochs must be >= 1")
        if args.max_k < 0:
            raise DataError("--max-k must be >= 0")
        flows, dropped = tr.load_and_select(args.data, args.format, features, args.attempted)
    except DataError as e:
        fail(str(e))
    sys.stderr.write("importance.py: %s: %s\n" % (args.data, flows.report.summary()))
    try:
        os.makedirs(args.out_dir, exist_ok=True)
    except OSError as e:
        fail("--out-dir %s: %s" % (args.out_dir, e.strerror))

    tr.seed_everything(args.seed, args.threads)
    tr_idx, te_idx = tr.split(flows.y, args.test_size, args.seed)
    cat = nd.catalog_by_name()

    ranking, _ = gini_ranking(flows.X[tr_idx], flows.y[tr_idx], flows.columns,
                              args.max_depth, args.seed)
    print("Gini importance (decision tree, max depth %d, seed %d, %d training flows):"
          % (args.max_depth, args.seed, len(tr_idx)))
    print("%4s  %-26s %3s %8s  %s" % ("rank", "feature", "id", "TableIV", "importance"))
    cum = 0.0
    imp_rows = []
    for r, (name, imp) in enumerate(ranking, start=1):
        cum += imp
        f = cat[name]
        print("%4d  %-26s %3d %8d  %.6f" % (r, name, f.id, f.table_iv, imp))
        imp_rows.append({"rank": r, "feature": name, "catalog_id": f.id,
                         "table_iv": f.table_iv, "importance": "%.6f" % imp,
                         "cumulative_importance": "%.6f" % cum})
    with open(os.path.join(args.out_dir, "importance.csv"), "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(imp_rows[0]))
        w.writeheader()
        w.writerows(imp_rows)
    if args.no_curve:
        return 0

    max_k = len(ranking) if args.max_k == 0 else min(args.max_k, len(ranking))
    rows = []
    print()
    print("cumulative top-K (MLP [K,%s,2]%s, %d epochs; held-out %d flows; float model):"
          % (",".join(map(str, hidden)), "" if args.bias else " no bias", args.epochs,
             len(te_idx)))
    print("%3s  %-26s %9s %9s %9s %9s %9s %9s" % ("K", "+feature", "accuracy", "precision",
                                                "recall", "F1", "FPR", "MCC"))
    for k in range(1, max_k + 1):
        cols = [name for name, _ in ranking[:k]]
        sub = flows.select(cols)
        tr.seed_everything(args.seed, args.threads)
        model, _, _, _ = tr.fit_and_export(sub, tr_idx, cols, hidden, args.bias, args.epochs,
                                           args.batch_size, args.lr, args.seed, {},
                                           verbose=False, class_weight=args.class_weight)
        m, _ = tr.evaluate(model, sub.X[te_idx], sub.y[te_idx])
        name, imp = ranking[k - 1]
        row = {"k": k, "feature": name, "table_iv": cat[name].table_iv, "importance": imp,
               "accuracy": m["accuracy"], "precision": m["precision"], "recall": m["recall"],
               "f1": m["f1"], "fpr": m["fpr"], "mcc": m["mcc"]}
        rows.append(row)
        print("%3d  %-26s %9.6f %9.6f %9.6f %9.6f %9.6f %9.6f"
              % (k, name, m["accuracy"], m["precision"], m["recall"], m["f1"], m["fpr"],
                 m["mcc"]))
        if not args.quiet:
            sys.stderr.write("importance.py: K=%d done (%.1f s)\n" % (k, time.time() - t0))
    with open(os.path.join(args.out_dir, "cumulative.csv"), "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["k", "feature", "table_iv", "importance",
                                           "accuracy", "precision", "recall", "f1", "fpr",
                                           "mcc"])
        w.writeheader()
        for r in rows:
            w.writerow({k: ("%.6f" % v if isinstance(v, float) else v) for k, v in r.items()})
    png = os.path.join(args.out_dir, "cumulative.png")
    plot(rows, png, "Cumulative feature performance: %s (seed %d, %d epochs)"
         % (os.path.basename(args.data), args.seed, args.epochs))
    print()
    print("wrote %s, %s, %s (%.1f s)" % (os.path.join(args.out_dir, "importance.csv"),
                                        os.path.join(args.out_dir, "cumulative.csv"), png,
                                        time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
