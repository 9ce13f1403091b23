#!/usr/bin/python3
"""Baseline models for nnbpf's kernel (paper Table IX), exported to ONNX that
`nnbpf compile` accepts with no flags.

Subcommands (one function per model kind, so other baselines plug in the
same way):
  tree     decision tree (the Bachl et al. approach): scikit-learn
           DecisionTreeClassifier -> ai.onnx.ml TreeEnsembleClassifier
  linear   linear SVM (scikit-learn LinearSVC) on standardized features ->
           Sub/Div (standardization) + ai.onnx.ml LinearClassifier

Data loading, the stratified split (by --seed) and the held-out file are
exactly those of train.py (nnbpf_data.py + train.split), so a baseline and an
MLP trained with the same --data/--seed/--test-size see the same rows.
Held-out metrics are those of the float model: the exported ONNX graph
evaluated by nnbpf_data.py in numpy (float64), which `nnbpf infer --engine
float` reproduces. See examples/train/README.md.
"""

import argparse
import json
import os
import shlex
import sys
import time

import numpy as np

import nnbpf_data as nd
import train as tr
from nnbpf_data import DataError

OPSET = 13
ML_OPSET = 3  # nodes_values_as_tensor: thresholds in double precision
LINEAR_ML_OPSET = 1


def fail(msg, code=2):
    sys.stderr.write("baselines.py: error: %s\n" % msg)
    sys.exit(code)


# ---------------------------------------------------------------------------
# Export


def _metadata(model, features, input_ranges, extra_meta):
    meta = {"nnbpf.features": ",".join(features)}
    if input_ranges:
        meta["nnbpf.input_ranges"] = ",".join("%d:%d" % tuple(r) for r in input_ranges)
    meta.update(extra_meta or {})
    del model.metadata_props[:]
    for k, v in meta.items():
        p = model.metadata_props.add()
        p.key, p.value = k, str(v)


def export_tree(clf, features, path, input_ranges, extra_meta=None):
    """Writes a fitted scikit-learn DecisionTreeClassifier (or a forest of
    them: RandomForestClassifier / ExtraTreesClassifier, leaf probabilities
    averaged) as an ONNX TreeEnsembleClassifier over raw features.

    features: catalog names, one per input column (nnbpf.features).
    input_ranges: [(lo, hi)] per feature (nnbpf.input_ranges), or None.
    Classes must be 0 and 1 (0 benign, 1 intrusion). Each leaf's class
    weights are its training class proportions (predict_proba); nodes are
    BRANCH_LEQ (scikit-learn sends x <= threshold left) with thresholds in
    double precision. post_transform NONE: the scores are the summed weights.
    Returns the onnx.ModelProto (also saved to path unless path is None)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    classes = [int(c) for c in clf.classes_]
    if classes != list(range(len(classes))) or len(classes) < 2:
        raise DataError("classes must be 0..N-1 (got %s)" % classes)
    estimators = list(getattr(clf, "estimators_", [clf]))
    n_in = len(features)
    if getattr(clf, "n_features_in_", n_in) != n_in:
        raise DataError("the model has %d inputs but %d features are named"
                        % (clf.n_features_in_, n_in))
    a = {k: [] for k in ("nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_modes",
                         "nodes_truenodeids", "nodes_falsenodeids", "class_treeids",
                         "class_nodeids", "class_ids", "class_weights")}
    values = []
    for t, est in enumerate(estimators):
        tree = est.tree_
        for i in range(tree.node_count):
            left, right = int(tree.children_left[i]), int(tree.children_right[i])
            leaf = left == -1
            a["nodes_treeids"].append(t)
            a["nodes_nodeids"].append(i)
            a["nodes_featureids"].append(0 if leaf else int(tree.feature[i]))
            a["nodes_modes"].append("LEAF" if leaf else "BRANCH_LEQ")
            a["nodes_truenodeids"].append(0 if leaf else left)
            a["nodes_falsenodeids"].append(0 if leaf else right)
            values.append(0.0 if leaf else float(tree.threshold[i]))
            if leaf:
                v = np.asarray(tree.value[i][0], dtype=np.float64)
                p = v / v.sum() if v.sum() > 0 else v
                for c in range(len(classes)):
                    a["class_treeids"].append(t)
                    a["class_nodeids"].append(i)
                    a["class_ids"].append(c)
                    a["class_weights"].append(float(p[c]) / len(estimators))
    node = helper.make_node(
        "TreeEnsembleClassifier", ["features"], ["label", "scores"], name="tree",
        domain="ai.onnx.ml", post_transform="NONE", classlabels_int64s=classes,
        nodes_values_as_tensor=numpy_helper.from_array(np.array(values, dtype=np.float64),
                                                       "nodes_values"),
        **a)
    graph = helper.make_graph(
        [node], "nnbpf_tree",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", n_in])],
        [helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"]),
         helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", len(classes)])])
    model = helper.make_model(graph, producer_name="nnbpf-baselines",
                              opset_imports=[helper.make_opsetid("", OPSET),
                                             helper.make_opsetid("ai.onnx.ml", ML_OPSET)])
    model.ir_version = 8
    _metadata(model, features, input_ranges, extra_meta)
    onnx.checker.check_model(model)
    if path is not None:
        onnx.save(model, path)
    return model


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
                                                    helper.make_opsetid("ai.onnx.ml", LINEAR_ML_OPSET)],
                              producer_name="nnbpf-baselines", producer_version="1")
    model.ir_version = 7
    _metadata(model, features, ranges, extra_meta)
    onnx.checker.check_model(model)
    return model


# ---------------------------------------------------------------------------
# Subcommands


def add_data_args(p):
    """Data, split and output flags every baseline shares (as train.py)."""
    p.add_argument("--data", required=True, metavar="FLOWS.csv",
                   help="flow CSV (nnbpf's format or CIC-IDS-2017)")
    p.add_argument("--out", required=True, metavar="MODEL.onnx", help="ONNX file to write")
    tr.add_format_args(p)
    p.add_argument("--seed", type=int, default=1, help="split/model seed (default 1)")
    p.add_argument("--test-size", type=float, default=0.2,
                   help="held-out fraction, stratified (default 0.2)")
    p.add_argument("--holdout", metavar="HOLDOUT.csv",
                   help="write the held-out rows (unchanged, label included) here")
    p.add_argument("--features", metavar="a,b,...",
                   help="catalog features, in input order (default: all in the data)")
    p.add_argument("--metrics-out", metavar="FILE.json",
                   help="also write the held-out metrics (and provenance) as JSON")
    p.add_argument("--min-protocol-rows", type=int, default=20, metavar="N",
                   help="nnbpf.protocols lists a protocol with at least N benign and N "
                        "intrusion training flows (default 20, as train.py)")
    p.add_argument("--calibration-rows", type=int, default=2000, metavar="N",
                   help="stratified training rows embedded as nnbpf.calibration "
                        "(default 2000, at most 2000; 0: none)")


def prepare(args, argv, kind):
    """Loads, checks and splits the data as train.py does. Returns
    (flows, train_idx, test_idx, provenance metadata)."""
    features = tr.parse_features(args.features)
    tr.parse_test_size(args.test_size)
    for what, path in (("--out", args.out), ("--holdout", args.holdout),
                       ("--metrics-out", args.metrics_out)):
        if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise DataError("%s %s: directory does not exist" % (what, path))
    flows, dropped = tr.load_and_select(args.data, args.format, features, args.attempted)
    sys.stderr.write("baselines.py: %s: %s\n" % (args.data, flows.report.summary()))
    train_idx, test_idx = tr.split(flows.y, args.test_size, args.seed)
    if args.min_protocol_rows < 1:
        raise DataError("--min-protocol-rows must be >= 1")
    if args.calibration_rows < 0:
        raise DataError("--calibration-rows must be >= 0")
    # The model-domain keys train.py writes (no operating point: no validation split).
    protocols, notes = tr.judged_protocols(flows, train_idx, args.min_protocol_rows)
    for note in notes:
        sys.stderr.write("baselines.py: protocols: %s\n" % note)
    meta = {"nnbpf.classes": ",".join(tr.CLASSES)}
    if protocols is not None:
        meta["nnbpf.protocols"] = protocols
    cal, _ = tr.calibration_csv(flows, train_idx, args.calibration_rows, args.seed)
    if cal is not None:
        meta["nnbpf.calibration"] = cal
    meta.update({
        "nnbpf.train.kind": kind,
        "nnbpf.train.seed": str(args.seed),
        "nnbpf.train.data_sha256": nd.file_sha256(args.data),
        "nnbpf.train.command": shlex.join([sys.argv[0]] + list(argv)),
    })
    return flows, train_idx, test_idx, meta


def finish(args, model, flows, te, meta, extra, t0):
    """Held-out file, float-model metrics (ONNX in numpy), report, JSON."""
    onnx_sha = nd.file_sha256(args.out)
    if args.holdout:
        nd.write_rows(args.data, flows.line_no[te], args.holdout)
    ev = nd.OnnxMLP(model)
    metrics = nd.binary_metrics(flows.y[te], ev.predict(flows.X[te]))
    n_hb = int((flows.y[te] == 0).sum())
    print("model      %s (sha256 %s)" % (args.out, onnx_sha))
    print("ops        %s" % " ".join(ev.op_types()))
    print("held-out   %d flows (%d benign, %d intrusion)%s; float model = ONNX in numpy"
          % (len(te), n_hb, len(te) - n_hb,
             ", rows in " + args.holdout if args.holdout else ""))
    print(nd.format_metrics(metrics))
    sys.stderr.write("baselines.py: %.1f s\n" % (time.time() - t0))
    if args.metrics_out:
        doc = {"model": args.out, "model_sha256": onnx_sha, "data": args.data,
               "data_sha256": meta["nnbpf.train.data_sha256"],
               "command": meta["nnbpf.train.command"], "seed": args.seed,
               "features": flows.columns, "read": flows.report.as_dict(), "heldout": metrics, "ops": ev.op_types(),
               "metadata": {k: v for k, v in ev.metadata.items() if k != "nnbpf.calibration"}}
        doc.update(extra)
        with open(args.metrics_out, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")


def cmd_tree(args, argv):
    from sklearn.tree import DecisionTreeClassifier
    if args.depth < 1:
        raise DataError("--depth must be >= 1")
    t0 = time.time()
    flows, tr_idx, te, meta = prepare(args, argv, "tree")
    meta["nnbpf.train.depth"] = str(args.depth)
    Xtr = flows.X[tr_idx]
    clf = DecisionTreeClassifier(criterion="gini", max_depth=args.depth, random_state=args.seed)
    clf.fit(Xtr, flows.y[tr_idx])
    sys.stderr.write("baselines.py: tree on %s: %d flows, %d train, %d held out; features %s; "
                     "depth %d (max %d), %d nodes, %d leaves\n"
                     % (args.data, len(flows), len(tr_idx), len(te), ",".join(flows.columns),
                        clf.get_depth(), args.depth, clf.tree_.node_count, clf.get_n_leaves()))
    model = export_tree(clf, flows.columns, args.out, tr.input_ranges(Xtr, flows.columns), meta)
    # scikit-learn compares float32(x); the ONNX float model compares double(x).
    agree = float(np.mean(clf.predict(flows.X[te]) == nd.OnnxMLP(model).predict(flows.X[te]))) \
        if len(te) else 1.0
    sys.stderr.write("baselines.py: scikit-learn vs ONNX float verdict agreement %.6f\n" % agree)
    finish(args, model, flows, te, meta,
           {"kind": "tree", "depth": int(clf.get_depth()), "max_depth": args.depth,
            "nodes": int(clf.tree_.node_count), "leaves": int(clf.get_n_leaves()),
            "sklearn_agreement": agree}, t0)


def cmd_linear(args, argv):
    from sklearn.svm import LinearSVC
    if not args.C > 0:
        raise DataError("--C %g: must be positive" % args.C)
    t0 = time.time()
    flows, tr_idx, te, meta = prepare(args, argv, "linear")
    meta["nnbpf.train.model"] = "LinearSVC C=%g" % args.C
    Xtr = flows.X[tr_idx]
    mean, std = tr.standardization(Xtr)
    svm = LinearSVC(C=args.C, dual=False, max_iter=args.max_iter, random_state=args.seed)
    svm.fit(tr.standardize(Xtr, mean, std), flows.y[tr_idx])
    model = export_linear(svm.coef_, svm.intercept_, mean, std, flows.columns,
                          tr.input_ranges(Xtr, flows.columns), meta)
    import onnx
    onnx.save(model, args.out)
    # Cross-check: the exported graph against scikit-learn's own decision.
    skl = svm.predict(tr.standardize(flows.X[te], mean, std))
    agree = float(np.mean(skl == nd.OnnxMLP(model).predict(flows.X[te]))) if len(te) else 1.0
    sys.stderr.write("baselines.py: linear SVM on %d features, %d train rows; scikit-learn vs "
                     "ONNX verdict agreement %.6f\n" % (len(flows.columns), len(tr_idx), agree))
    finish(args, model, flows, te, meta,
           {"kind": "linear_svm", "C": args.C, "sklearn_agreement": agree}, t0)


def build_parser():
    p = argparse.ArgumentParser(
        prog="baselines.py",
        description="Train a baseline model on a flow CSV and export it to ONNX for nnbpf.")
    sub = p.add_subparsers(dest="kind", required=True, metavar="KIND")
    t = sub.add_parser("tree", help="decision tree (ai.onnx.ml TreeEnsembleClassifier)",
                       description="Decision tree (scikit-learn, gini) over raw features.")
    add_data_args(t)
    t.add_argument("--depth", type=int, default=10, help="maximum depth (default 10)")
    t.set_defaults(run=cmd_tree)
    lin = sub.add_parser("linear", help="linear SVM (LinearSVC) -> ai.onnx.ml LinearClassifier",
                         description="Linear SVM (scikit-learn LinearSVC) on standardized features.")
    add_data_args(lin)
    lin.add_argument("--C", type=float, default=1.0, help="regularization C (default 1.0)")
    lin.add_argument("--max-iter", type=int, default=5000, help="solver iterations (default 5000)")
    lin.set_defaults(run=cmd_linear)
    return p


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    try:
        args.run(args, argv)
    except DataError as e:
        fail(str(e))
    return 0


if __name__ == "__main__":
    sys.exit(main())
