#!/usr/bin/python3
"""Baseline models for nnbpf's in-kernel comparison (issue 4), exported to
ONNX so that `nnbpf compile MODEL.onnx` needs no flags.

Subcommands (one per baseline; each loads and splits the data exactly as
train.py does: same CSV loader, same stratified split by --seed, held-out
rows written unchanged with --holdout):

  linear   linear SVM (sklearn LinearSVC) on standardized features, exported
           as Sub/Div (standardization) + ai.onnx.ml LinearClassifier

Held-out metrics are those of the exported ONNX graph evaluated in numpy
(nnbpf_data.OnnxMLP), as for train.py. See examples/train/README.md.
"""

import argparse
import json
import os
import shlex
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nnbpf_data as nd  # noqa: E402
import train  # noqa: E402
from nnbpf_data import DataError  # noqa: E402

OPSET = 13
ML_OPSET = 1


def fail(msg, code=2):
    sys.stderr.write("baselines.py: error: %s\n" % msg)
    sys.exit(code)


def add_data_args(p):
    """Flags every baseline shares with train.py (same meaning, same defaults)."""
    p.add_argument("--data", required=True, metavar="FLOWS.csv",
                   help="flow CSV: nnbpf format (catalog columns + label) or CIC-IDS-2017")
    p.add_argument("--format", default="auto", choices=("auto", "repro", "cicids"),
                   help="input format (default: auto-detect from the header)")
    p.add_argument("--seed", type=int, default=1, help="split seed (default 1)")
    p.add_argument("--test-size", type=float, default=0.2,
                   help="held-out fraction, stratified (default 0.2)")
    p.add_argument("--features", metavar="a,b,...",
                   help="catalog features to use, in input order "
                        "(default: every catalog feature in the data, in column order)")
    p.add_argument("--out", required=True, metavar="MODEL.onnx", help="ONNX file to write")
    p.add_argument("--holdout", metavar="HOLDOUT.csv",
                   help="write the held-out rows here, unchanged (header included)")
    p.add_argument("--metrics-out", metavar="FILE.json",
                   help="also write the held-out metrics (and provenance) as JSON")


def prepare(args):
    """Checks paths, loads the CSV and splits it like train.py: (flows, tr, te)."""
    features = train.parse_features(args.features)
    train.parse_test_size(args.test_size)
    for what, path in (("--out", args.out), ("--holdout", args.holdout),
                       ("--metrics-out", args.metrics_out)):
        if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise DataError("%s %s: directory does not exist" % (what, path))
    flows, dropped = train.load_and_select(args.data, args.format, features)
    if dropped:
        sys.stderr.write("baselines.py: dropped %d rows with NaN/Inf in the selected features\n"
                         % dropped)
    tr, te = train.split(flows.y, args.test_size, args.seed)
    return flows, tr, te


def set_metadata(model, features, ranges, extra_meta):
    """nnbpf.features and nnbpf.input_ranges exactly as train.py writes them."""
    meta = {
        "nnbpf.features": ",".join(features),
        "nnbpf.input_ranges": ",".join("%d:%d" % r for r in ranges),
    }
    meta.update(extra_meta)
    del model.metadata_props[:]
    for k, v in meta.items():
        p = model.metadata_props.add()
        p.key, p.value = k, str(v)


# ---------------------------------------------------------------------------
# linear


def export_linear(coef, intercept, mean, std, features, ranges, extra_meta):
    """A linear classifier as ONNX: (x - mean) / std (or * mul when some std is
    0, as train.py), then ai.onnx.ml LinearClassifier with classlabels 0, 1
    and post_transform NONE. coef: [1, F] (binary: scores [-z, z]) or [2, F];
    intercept: [rows]. The graph's output is the scores [batch, 2]."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    coef = np.asarray(coef, dtype=np.float64).reshape(-1, len(features))
    intercept = np.asarray(intercept, dtype=np.float64).reshape(-1)
    f32 = np.float32
    inits = [numpy_helper.from_array(np.asarray(mean, f32), "std.mean")]
    nodes = [helper.make_node("Sub", ["features", "std.mean"], ["centered"], name="std_sub")]
    if np.all(std > 0):
        inits.append(numpy_helper.from_array(np.asarray(std, f32), "std.sigma"))
        nodes.append(helper.make_node("Div", ["centered", "std.sigma"], ["standardized"],
                                      name="std_div"))
    else:
        mul = np.where(std > 0, 1.0 / np.where(std > 0, std, 1.0), 0.0)
        inits.append(numpy_helper.from_array(np.asarray(mul, f32), "std.mul"))
        nodes.append(helper.make_node("Mul", ["centered", "std.mul"], ["standardized"],
                                      name="std_mul"))
    nodes.append(helper.make_node(
        "LinearClassifier", ["standardized"], ["label", "scores"], name="linear_svm",
        domain="ai.onnx.ml", coefficients=[float(v) for v in coef.flatten()],
        intercepts=[float(v) for v in intercept], classlabels_ints=[0, 1],
        post_transform="NONE"))
    graph = helper.make_graph(
        nodes, "nnbpf_linear",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", len(features)])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", 2])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET),
                                                    helper.make_opsetid("ai.onnx.ml", ML_OPSET)],
                              producer_name="nnbpf-baselines", producer_version="1")
    model.ir_version = 7
    set_metadata(model, features, ranges, extra_meta)
    onnx.checker.check_model(model)
    return model


def cmd_linear(args, argv):
    t0 = time.time()
    try:
        if not args.C > 0:
            raise DataError("--C %g: must be positive" % args.C)
        flows, tr, te = prepare(args)
    except DataError as e:
        fail(str(e))
    from sklearn.svm import LinearSVC
    Xtr = flows.X[tr]
    mean, std = train.standardization(Xtr)
    svm = LinearSVC(C=args.C, dual=False, max_iter=args.max_iter, random_state=args.seed)
    svm.fit(train.standardize(Xtr, mean, std), flows.y[tr])
    data_sha = nd.file_sha256(args.data)
    command = shlex.join([sys.argv[0]] + list(argv))
    meta = {
        "nnbpf.train.seed": str(args.seed),
        "nnbpf.train.data_sha256": data_sha,
        "nnbpf.train.command": command,
        "nnbpf.train.model": "LinearSVC C=%g" % args.C,
    }
    model = export_linear(svm.coef_, svm.intercept_, mean, std, flows.columns,
                          train.input_ranges(Xtr, flows.columns), meta)
    import onnx
    onnx.save(model, args.out)
    onnx_sha = nd.file_sha256(args.out)
    if args.holdout:
        nd.write_rows(args.data, flows.line_no[te], args.holdout)
    ev = nd.OnnxMLP(model)
    metrics = nd.binary_metrics(flows.y[te], ev.predict(flows.X[te]))
    # Cross-check: the exported graph against sklearn's own decision.
    skl = svm.predict(train.standardize(flows.X[te], mean, std))
    agree = float(np.mean(skl == ev.predict(flows.X[te]))) if len(te) else 1.0
    n_hb = int((flows.y[te] == 0).sum())
    print("model      %s (sha256 %s)" % (args.out, onnx_sha))
    print("ops        %s" % " ".join(ev.op_types()))
    print("held-out   %d flows (%d benign, %d intrusion)%s; float model = ONNX in numpy"
          % (len(te), n_hb, len(te) - n_hb, ", rows in " + args.holdout if args.holdout else ""))
    print(nd.format_metrics(metrics))
    sys.stderr.write("baselines.py: linear SVM on %d features, %d train rows; sklearn vs ONNX "
                     "verdict agreement %.6f; %.1f s\n"
                     % (len(flows.columns), len(tr), agree, time.time() - t0))
    if args.metrics_out:
        doc = {"model": args.out, "model_sha256": onnx_sha, "kind": "linear_svm", "C": args.C,
               "data": args.data, "data_sha256": data_sha, "command": command, "seed": args.seed,
               "features": flows.columns, "heldout": metrics, "ops": ev.op_types(),
               "metadata": ev.metadata}
        with open(args.metrics_out, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
    return 0


# ---------------------------------------------------------------------------


def build_parser():
    p = argparse.ArgumentParser(
        prog="baselines.py",
        description="Train a baseline model on flow features and export ONNX for nnbpf.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    lin = sub.add_parser("linear", help="linear SVM (LinearSVC) -> LinearClassifier")
    add_data_args(lin)
    lin.add_argument("--C", type=float, default=1.0, help="regularization C (default 1.0)")
    lin.add_argument("--max-iter", type=int, default=5000, help="solver iterations (default 5000)")
    lin.set_defaults(run=cmd_linear)
    return p


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    return args.run(args, argv)


if __name__ == "__main__":
    sys.exit(main())
