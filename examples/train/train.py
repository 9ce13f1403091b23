#!/usr/bin/python3
"""Train nnbpf's intrusion-detection MLP on a flow CSV and export it to ONNX.

The paper's recipe (§V-B): standardization, MLP [F, 32, 32, 2] with ReLU,
cross-entropy, Adam lr 1e-3, batch 512, 32 epochs. The exported graph holds
the standardization (Sub, Div) followed by Gemm/Relu layers, plus the
metadata nnbpf's compiler reads (nnbpf.features, nnbpf.input_ranges) and
provenance (nnbpf.train.*). Held-out metrics are those of the float model,
i.e. the exported ONNX graph evaluated in numpy.

See examples/train/README.md for the command contract.
"""

import argparse
import io
import json
import math
import os
import random
import shlex
import sys
import time

import numpy as np

import nnbpf_data as nd
from nnbpf_data import DataError

OPSET = 13


def fail(msg, code=2):
    sys.stderr.write("train.py: error: %s\n" % msg)
    sys.exit(code)


# ---------------------------------------------------------------------------
# Arguments


def parse_hidden(s):
    s = s.strip()
    if s in ("", "none"):
        return []
    try:
        h = [int(v) for v in s.split(",")]
    except ValueError:
        raise DataError("--hidden %r: expected comma-separated positive integers" % s)
    if any(v <= 0 for v in h):
        raise DataError("--hidden %r: layer widths must be positive" % s)
    return h


def parse_features(s):
    if s is None:
        return None
    names = [v.strip() for v in s.split(",") if v.strip()]
    if not names:
        raise DataError("--features is empty")
    return names


def parse_test_size(v):
    if not (0.0 < v < 1.0):
        raise DataError("--test-size %g: expected a fraction in (0, 1)" % v)
    return v


def parse_target_fpr(s):
    """--target-fpr: a rate in [0, 1), or 'none' (no operating point)."""
    if s is None or str(s).strip().lower() in ("none", "off"):
        return None
    try:
        v = float(s)
    except ValueError:
        raise DataError("--target-fpr %r: expected a rate in [0, 1) or 'none'" % s)
    if not (0.0 <= v < 1.0):
        raise DataError("--target-fpr %r: expected a rate in [0, 1) or 'none'" % s)
    return v


FORMATS = ("auto", "nnbpf", "cic", "cic2017", "cic2018", "cic2021", "repro", "cicids")


def add_format_args(p):
    """--format and --attempted (train.py, importance.py, baselines.py)."""
    p.add_argument("--format", default="auto", choices=FORMATS,
                   help="input dialect (default: detect from the header); cic: the "
                        "CICFlowMeter dialect that matches best; repro, cicids: earlier names "
                        "of nnbpf, cic")
    p.add_argument("--attempted", default="intrusion", choices=nd.ATTEMPTED_POLICIES,
                   help="CICFlowMeter labels '<attack> - Attempted' (2021 re-extraction) count "
                        "as intrusion (default), benign, or are dropped")


def add_common_args(p):
    """Data/split/model/training flags shared with importance.py."""
    p.add_argument("--data", required=True, metavar="FLOWS.csv",
                   help="flow CSV: nnbpf format (catalog columns + label) or CICFlowMeter "
                        "(CIC-IDS-2017, CSE-CIC-IDS2018, the 2021 re-extraction)")
    add_format_args(p)
    p.add_argument("--seed", type=int, default=1, help="split/initialization seed (default 1)")
    p.add_argument("--test-size", type=float, default=0.2,
                   help="held-out fraction, stratified (default 0.2)")
    p.add_argument("--hidden", default="32,32", help="hidden layer widths (default 32,32)")
    p.add_argument("--bias", action=argparse.BooleanOptionalAction, default=True,
                   help="biases in all layers (default: --bias)")
    p.add_argument("--batch-size", type=int, default=512, help="default 512")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    p.add_argument("--class-weight", default="none", choices=("none", "balanced"),
                   help="loss weight per class: none, or balanced (n / (2 * n_class)) "
                        "for imbalanced data (default none)")


def build_parser():
    p = argparse.ArgumentParser(
        prog="train.py",
        description="Train an MLP on flow features and export ONNX for nnbpf.")
    add_common_args(p)
    p.add_argument("--out", required=True, metavar="MODEL.onnx", help="ONNX file to write")
    p.add_argument("--holdout", metavar="HOLDOUT.csv",
                   help="write the held-out rows here, unchanged (header included)")
    p.add_argument("--features", metavar="a,b,...",
                   help="catalog features to use, in input order "
                        "(default: every catalog feature in the data, in column order)")
    p.add_argument("--epochs", type=int, default=32, help="default 32")
    p.add_argument("--metrics-out", metavar="FILE.json",
                   help="also write the held-out metrics (and provenance) as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--target-fpr", default="0.001", metavar="F|none",
                   help="choose the operating point (metadata nnbpf.min_margin) on a "
                        "validation split so that the benign per-flow false-positive rate "
                        "is at most F (default 0.001); 'none': train on every training row, "
                        "no min_margin")
    p.add_argument("--val-size", type=float, default=0.2,
                   help="fraction of the training rows held aside (stratified) to choose the "
                        "operating point with --target-fpr (default 0.2)")
    p.add_argument("--min-protocol-rows", type=int, default=20, metavar="N",
                   help="nnbpf.protocols lists a protocol when the training rows hold at "
                        "least N benign and N intrusion flows of it (default 20)")
    p.add_argument("--calibration-rows", type=int, default=2000, metavar="N",
                   help="stratified training rows embedded as nnbpf.calibration "
                        "(default 2000, at most 2000; 0: none)")
    return p


CLASSES = ("benign", "intrusion")
JUDGED_PROTOCOLS = (("tcp", 6), ("udp", 17))  # what nnbpf's pipeline can classify
CALIBRATION_MAX_ROWS = 2000


# ---------------------------------------------------------------------------
# Data


def load_and_select(path, fmt, features, attempted="intrusion"):
    """Loads the CSV (only the needed columns; CICFlowMeter rows with NaN,
    Infinity, negative or non-numeric values in them dropped, fractional
    values rounded down: nnbpf_data.load_flows). Returns (flows, n_dropped);
    flows.report says what was read, dropped and repaired."""
    flows = nd.load_flows(path, fmt=fmt, features=features, attempted=attempted)
    dropped = flows.report.n_dropped()
    classes = set(np.unique(flows.y).tolist())
    if classes != {0, 1}:
        raise DataError("%s: needs both classes (benign 0 and intrusion 1), found %s"
                        % (path, sorted(classes)))
    return flows, dropped


def split(y, test_size, seed):
    """Stratified split of row positions: (train_idx, test_idx), each sorted."""
    from sklearn.model_selection import train_test_split
    idx = np.arange(len(y))
    try:
        tr, te = train_test_split(idx, test_size=test_size, random_state=seed,
                                  shuffle=True, stratify=y)
    except ValueError as e:
        raise DataError("cannot split: %s" % e)
    return np.sort(tr), np.sort(te)


def standardization(X):
    """mean and population std over rows; std 0 stays 0 (meaning: output 0)."""
    mean = X.mean(axis=0)
    std = X.std(axis=0)  # ddof=0: population
    return mean, std


def standardize(X, mean, std):
    mul = np.where(std > 0, 1.0 / np.where(std > 0, std, 1.0), 0.0)
    return (X - mean) * mul


def input_ranges(X, features):
    """lo:hi per feature: lo 0, hi ceil(2 * max over X) capped at the catalog hi."""
    cat = nd.catalog_by_name()
    out = []
    for j, name in enumerate(features):
        mx = float(np.max(X[:, j]))
        hi = max(0, math.ceil(2.0 * mx))
        hi = min(hi, cat[name].hi)
        out.append((0, int(hi)))
    return out


# ---------------------------------------------------------------------------
# Model and training


def seed_everything(seed, threads):
    import torch
    torch.set_num_threads(max(1, threads))
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)


def build_mlp(n_in, hidden, bias, n_out=2):
    import torch.nn as nn
    layers = []
    prev = n_in
    for h in hidden:
        layers += [nn.Linear(prev, h, bias=bias), nn.ReLU()]
        prev = h
    layers.append(nn.Linear(prev, n_out, bias=bias))
    return nn.Sequential(*layers)


def progress(epoch, epochs, loss, width=30):
    done = int(width * epoch / epochs)
    bar = "=" * max(0, done - 1) + (">" if done < width else "=") if done else ""
    line = "epoch %*d/%d [%-*s] loss %.4f" % (len(str(epochs)), epoch, epochs, width, bar, loss)
    if sys.stderr.isatty():
        sys.stderr.write("\r" + line + ("\n" if epoch == epochs else ""))
    else:
        sys.stderr.write(line + "\n")
    sys.stderr.flush()


def class_weights(y, kind):
    """Loss weight per class: None (plain cross-entropy) or, for 'balanced',
    n / (2 * n_c) (scikit-learn's 'balanced'), so each class weighs the same."""
    if kind in (None, "none"):
        return None
    if kind != "balanced":
        raise DataError("--class-weight %r: none or balanced" % kind)
    n = len(y)
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=2)
    return [n / (2.0 * c) if c else 0.0 for c in counts]


def train_mlp(Xs, y, hidden, bias, epochs, batch_size, lr, seed, verbose=True, weights=None):
    """Trains on standardized Xs (float) and labels y. Returns the module.
    weights: optional per-class loss weights (class_weights)."""
    import torch
    import torch.nn as nn
    if epochs < 1:
        raise DataError("--epochs must be >= 1")
    if batch_size < 1:
        raise DataError("--batch-size must be >= 1")
    torch.manual_seed(seed)
    model = build_mlp(Xs.shape[1], hidden, bias)
    X_t = torch.from_numpy(np.ascontiguousarray(Xs, dtype=np.float32))
    y_t = torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss(
        weight=None if weights is None else torch.tensor(weights, dtype=torch.float32))
    gen = torch.Generator().manual_seed(seed)
    n = len(y_t)
    model.train()
    for epoch in range(1, epochs + 1):
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for start in range(0, n, batch_size):
            b = perm[start:start + batch_size]
            opt.zero_grad()
            loss = loss_fn(model(X_t[b]), y_t[b])
            loss.backward()
            opt.step()
            total += float(loss) * len(b)
        if verbose:
            progress(epoch, epochs, total / n)
    model.eval()
    return model


class _WithStandardization:
    """Builds the export module: (x - mean) / std, or (x - mean) * mul when
    some std is 0 (mul 0 there, so the standardized input is 0)."""

    @staticmethod
    def make(mlp, mean, std):
        import torch
        import torch.nn as nn

        class Exported(nn.Module):
            def __init__(self):
                super().__init__()
                self.use_div = bool(np.all(std > 0))
                self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
                if self.use_div:
                    self.register_buffer("std", torch.tensor(std, dtype=torch.float32))
                else:
                    mul = np.where(std > 0, 1.0 / np.where(std > 0, std, 1.0), 0.0)
                    self.register_buffer("mul", torch.tensor(mul, dtype=torch.float32))
                self.mlp = mlp

            def forward(self, features):
                z = features - self.mean
                z = z / self.std if self.use_div else z * self.mul
                return self.mlp(z)

        return Exported()


def export_onnx(mlp, mean, std, features, ranges, extra_meta):
    """Exports to an onnx.ModelProto with metadata; checks the op set."""
    import onnx
    import torch
    module = _WithStandardization.make(mlp, mean, std).eval()
    dummy = torch.zeros(1, len(features), dtype=torch.float32)
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(module, (dummy,), buf, export_params=True, opset_version=OPSET,
                          do_constant_folding=True, input_names=["features"],
                          output_names=["logits"],
                          dynamic_axes={"features": {0: "batch"}, "logits": {0: "batch"}})
    model = onnx.load_from_string(buf.getvalue())
    bad = [(n.name, n.op_type) for n in model.graph.node if n.op_type not in nd.ACCEPTED_OPS]
    if bad:
        raise RuntimeError("torch exported ops nnbpf does not accept: %s"
                           % ", ".join("%s (%s)" % b for b in bad))
    meta = {
        "nnbpf.features": ",".join(features),
        "nnbpf.input_ranges": ",".join("%d:%d" % r for r in ranges),
    }
    meta.update(extra_meta)
    del model.metadata_props[:]
    for k, v in meta.items():
        p = model.metadata_props.add()
        p.key, p.value = k, str(v)
    onnx.checker.check_model(model)
    return model


def fit_and_export(flows, tr, features_meta, hidden, bias, epochs, batch_size, lr, seed,
                   extra_meta, verbose=True, class_weight="none", ranges_rows=None):
    """Standardization on the training rows tr, training, export. Input
    ranges come from ranges_rows (default tr). Returns (onnx.ModelProto,
    torch module, mean, std)."""
    Xtr = flows.X[tr]
    mean, std = standardization(Xtr)
    mlp = train_mlp(standardize(Xtr, mean, std), flows.y[tr], hidden, bias, epochs,
                    batch_size, lr, seed, verbose=verbose,
                    weights=class_weights(flows.y[tr], class_weight))
    Xr = Xtr if ranges_rows is None else flows.X[ranges_rows]
    model = export_onnx(mlp, mean, std, flows.columns, input_ranges(Xr, flows.columns),
                        extra_meta)
    return model, mlp, mean, std


# ---------------------------------------------------------------------------
# Model-domain metadata: protocols, operating point, calibration sample


def judged_protocols(flows, rows, min_rows):
    """nnbpf.protocols from the training rows: the protocols (tcp, udp) with
    at least min_rows benign and min_rows intrusion flows. When none has
    that many, the protocols with at least one of each, with a warning (a
    small data set still gets a domain); when none has both classes, an
    error. Returns (value or None when the data has no protocol column,
    [explanation lines])."""
    if flows.proto is None:
        return None, ["nnbpf.protocols not written: the data has no protocol column "
                      "('%s' / '%s'), so the model judges every protocol"
                      % (nd.REPRO_PROTO, nd.CIC_PROTO)]
    proto, y = flows.proto[rows], flows.y[rows]
    notes, keep, both = [], [], []
    for name, num in JUDGED_PROTOCOLS:
        nb = int(np.sum((proto == num) & (y == 0)))
        ni = int(np.sum((proto == num) & (y == 1)))
        ok = nb >= min_rows and ni >= min_rows
        if ok:
            keep.append(name)
        if nb and ni:
            both.append(name)
        notes.append("%s %s: %d benign, %d intrusion training flows%s"
                     % (name, "included" if ok else "excluded", nb, ni,
                        "" if ok else " (fewer than --min-protocol-rows %d of %s)"
                        % (min_rows, "each" if nb < min_rows and ni < min_rows
                           else "benign" if nb < min_rows else "intrusion")))
    others = sorted(set(proto.tolist()) - {num for _, num in JUDGED_PROTOCOLS})
    for num in others:
        n = int(np.sum(proto == num))
        notes.append("%s excluded: %d training flows (nnbpf classifies tcp and udp only)"
                     % (nd.PROTO_NAMES.get(num, "protocol %d" % num if num >= 0
                                           else "unknown protocol"), n))
    if not keep:
        if not both:
            raise DataError("no protocol has both benign and intrusion training flows (%s): "
                            "the model could judge none" % "; ".join(notes))
        keep = both
        notes.append("WARNING: no protocol reaches --min-protocol-rows %d; nnbpf.protocols = "
                     "%s, the protocols with flows of both classes (train on more data)"
                     % (min_rows, ",".join(keep)))
    return ",".join(keep), notes


def margins(ev, X):
    """logit[1] - logit[0] of the float model (ONNX graph in numpy)."""
    z = ev.run(X)
    return z[:, 1] - z[:, 0]


def choose_min_margin(margins, y, target_fpr):
    """The operating point: a threshold t >= 0 on the margins of the
    validation rows such that at most k = floor(target_fpr * n_benign)
    benign margins lie above it. t lies halfway between the (k+1)-th largest
    benign margin and the next larger validation margin (benign or not), so
    no validation margin is near t: 'margin > t' and 'margin >= t' count the
    same flows, and so does the runtime's integer margin round(t * 2^f)
    unless the gap is below its resolution. Without a larger margin, t is
    1e-3 above the benign one."""
    m = np.asarray(margins, dtype=np.float64)
    b = np.sort(m[np.asarray(y) == 0])[::-1]
    if len(b) == 0:
        raise DataError("--target-fpr: the validation split has no benign flow")
    k = int(math.floor(target_fpr * len(b) + 1e-9))
    if k >= len(b):
        return 0.0
    edge = float(b[k])
    higher = m[m > edge]
    t = edge + (float(higher.min()) - edge) / 2 if len(higher) else edge + 1e-3
    return max(0.0, t)


def at_margin(y, m, t):
    """binary_metrics of the verdict 'margin > t' (t = min_margin)."""
    return nd.binary_metrics(y, (np.asarray(m) > t).astype(np.int64))


def calibration_csv(flows, rows, n_max, seed):
    """nnbpf.calibration: a stratified sample of up to n_max of the given
    rows (file order), as CSV text in catalog units: header = feature names,
    values rounded down to integers and clamped to the catalog's [lo, hi]."""
    n_max = min(n_max, CALIBRATION_MAX_ROWS)
    rows = np.asarray(rows)
    if n_max <= 0 or len(rows) == 0:
        return None, 0
    rng = np.random.default_rng(seed)
    if len(rows) <= n_max:
        pick = rows
    else:
        pick = []
        y = flows.y[rows]
        classes = sorted(set(y.tolist()))
        quota = {c: int(round(n_max * np.sum(y == c) / len(rows))) for c in classes}
        while sum(quota.values()) > n_max:
            quota[max(quota, key=quota.get)] -= 1
        for c in classes:
            members = rows[y == c]
            q = max(1, min(len(members), quota[c]))
            pick.extend(rng.choice(members, size=q, replace=False).tolist())
        if len(pick) > n_max:
            pick = rng.choice(pick, size=n_max, replace=False).tolist()
        pick = np.array(pick)
    cat = nd.catalog_by_name()
    lo = np.array([cat[c].lo for c in flows.columns], dtype=np.float64)
    hi = np.array([cat[c].hi for c in flows.columns], dtype=np.float64)
    X = np.clip(np.floor(flows.X[np.sort(pick)]), lo, hi)
    lines = [",".join(flows.columns)]
    lines += [",".join("%d" % v for v in row) for row in X]
    return "\n".join(lines) + "\n", len(pick)


def set_metadata(model, meta):
    """Adds (or replaces) metadata_props entries."""
    for k, v in meta.items():
        for p in model.metadata_props:
            if p.key == k:
                p.value = str(v)
                break
        else:
            p = model.metadata_props.add()
            p.key, p.value = k, str(v)


def evaluate(model, X, y):
    """Held-out metrics of the float model (ONNX graph in numpy, float64)."""
    ev = nd.OnnxMLP(model)
    return nd.binary_metrics(y, ev.predict(X)), ev


# ---------------------------------------------------------------------------


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    t0 = time.time()
    try:
        hidden = parse_hidden(args.hidden)
        features = parse_features(args.features)
        parse_test_size(args.test_size)
        if args.epochs < 1:
            raise DataError("--epochs must be >= 1")
        if args.batch_size < 1:
            raise DataError("--batch-size must be >= 1")
        target_fpr = parse_target_fpr(args.target_fpr)
        if target_fpr is not None and not (0.0 < args.val_size < 1.0):
            raise DataError("--val-size %g: expected a fraction in (0, 1)" % args.val_size)
        if args.min_protocol_rows < 1:
            raise DataError("--min-protocol-rows must be >= 1")
        if args.calibration_rows < 0:
            raise DataError("--calibration-rows must be >= 0")
        for what, path in (("--out", args.out), ("--holdout", args.holdout),
                           ("--metrics-out", args.metrics_out)):
            if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
                raise DataError("%s %s: directory does not exist" % (what, path))
        flows, dropped = load_and_select(args.data, args.format, features, args.attempted)
    except DataError as e:
        fail(str(e))
    sys.stderr.write("train.py: %s: %s\n" % (args.data, flows.report.summary()))

    import torch
    seed_everything(args.seed, args.threads)

    try:
        tr, te = split(flows.y, args.test_size, args.seed)
        # The operating point is chosen on rows the model was not fitted on.
        if target_fpr is not None:
            fit_pos, val_pos = split(flows.y[tr], args.val_size, args.seed)
            fit, val = tr[fit_pos], tr[val_pos]
        else:
            fit, val = tr, tr[:0]
        protocols, proto_notes = judged_protocols(flows, tr, args.min_protocol_rows)
    except DataError as e:
        fail(str(e))
    data_sha = nd.file_sha256(args.data)
    command = shlex.join([sys.argv[0]] + list(argv))
    meta = {
        "nnbpf.train.seed": str(args.seed),
        "nnbpf.train.data_sha256": data_sha,
        "nnbpf.train.command": command,
    }
    n_b = int((flows.y[tr] == 0).sum())
    sys.stderr.write("train.py: %s (%s): %d flows, %d train (%d benign, %d intrusion), "
                     "%d held out; features %s; MLP [%s]%s\n"
                     % (args.data, flows.dialect, len(flows), len(tr), n_b, len(tr) - n_b,
                        len(te), ",".join(flows.columns),
                        ",".join(str(v) for v in [len(flows.columns)] + hidden + [2]),
                        "" if args.bias else " no bias"))
    if target_fpr is not None:
        sys.stderr.write("train.py: fitting on %d rows, %d validation rows choose the operating "
                         "point (--target-fpr %g)\n" % (len(fit), len(val), target_fpr))
    for note in proto_notes:
        sys.stderr.write("train.py: protocols: %s\n" % note)
    if args.class_weight != "none":
        w = class_weights(flows.y[fit], args.class_weight)
        sys.stderr.write("train.py: class weights %s: benign %.4g, intrusion %.4g\n"
                         % (args.class_weight, w[0], w[1]))
    meta = dict(meta)
    meta["nnbpf.classes"] = ",".join(CLASSES)
    if protocols is not None:
        meta["nnbpf.protocols"] = protocols
    try:
        model, mlp, mean, std = fit_and_export(
            flows, fit, flows.columns, hidden, args.bias, args.epochs, args.batch_size,
            args.lr, args.seed, meta, verbose=not args.quiet,
            class_weight=args.class_weight, ranges_rows=tr)
    except DataError as e:
        fail(str(e))

    # Operating point on the validation rows, then the calibration sample.
    extra = {}
    op = None
    ev0 = nd.OnnxMLP(model)
    if target_fpr is not None:
        try:
            mv = margins(ev0, flows.X[val])
            t = choose_min_margin(mv, flows.y[val], target_fpr)
        except DataError as e:
            fail(str(e))
        extra["nnbpf.min_margin"] = "%.9g" % t
        t = float(extra["nnbpf.min_margin"])
        op = {"target_fpr": target_fpr, "min_margin": t,
              "validation": at_margin(flows.y[val], mv, t)}
    cal, n_cal = calibration_csv(flows, tr, args.calibration_rows, args.seed)
    if cal is not None:
        extra["nnbpf.calibration"] = cal
    # Domain keys first, provenance last.
    prov = {k: v for k, v in meta.items() if k.startswith("nnbpf.train.")}
    for k in prov:
        for i, p in enumerate(model.metadata_props):
            if p.key == k:
                del model.metadata_props[i]
                break
    set_metadata(model, extra)
    set_metadata(model, prov)

    import onnx
    onnx.save(model, args.out)
    onnx_sha = nd.file_sha256(args.out)
    if args.holdout:
        nd.write_rows(args.data, flows.line_no[te], args.holdout)

    metrics, ev = evaluate(model, flows.X[te], flows.y[te])
    # Cross-check: numpy float64 graph vs the torch module in float32.
    with torch.no_grad():
        xs = torch.from_numpy(standardize(flows.X[te], mean, std).astype(np.float32))
        t_logits = mlp(xs).numpy()
    n_logits = ev.run(flows.X[te])
    diff = float(np.max(np.abs(t_logits - n_logits))) if len(te) else 0.0
    agree = float(np.mean(np.argmax(t_logits, 1) == np.argmax(n_logits, 1))) if len(te) else 1.0

    n_hb = int((flows.y[te] == 0).sum())
    print("model      %s (sha256 %s)" % (args.out, onnx_sha))
    print("ops        %s" % " ".join(ev.op_types()))
    print("metadata   classes %s; protocols %s; min_margin %s; calibration %d rows"
          % (",".join(CLASSES), protocols if protocols is not None else "(all: no protocol column)",
             extra.get("nnbpf.min_margin", "none"), n_cal))
    print("held-out   %d flows (%d benign, %d intrusion)%s; float model = ONNX in numpy"
          % (len(te), n_hb, len(te) - n_hb,
             ", rows in " + args.holdout if args.holdout else ""))
    print(nd.format_metrics(metrics))
    if op is not None:
        op["heldout"] = at_margin(flows.y[te], margins(ev, flows.X[te]), op["min_margin"])
        v, h = op["validation"], op["heldout"]
        print("operating  min_margin %s (target FPR %g on %d validation flows: FPR %.6f  "
              "precision %.6f  recall %.6f)"
              % (extra["nnbpf.min_margin"], target_fpr, v["n"], v["fpr"], v["precision"],
                 v["recall"]))
        print("held-out at min_margin: precision %.6f  recall %.6f  F1 %.6f  FPR %.6f  "
              "confusion [[%d %d] [%d %d]]"
              % (h["precision"], h["recall"], h["f1"], h["fpr"], h["confusion_matrix"][0][0],
                 h["confusion_matrix"][0][1], h["confusion_matrix"][1][0],
                 h["confusion_matrix"][1][1]))
    sys.stderr.write("train.py: torch vs numpy logits: max |diff| %.3g, verdict agreement %.6f; "
                     "%.1f s\n" % (diff, agree, time.time() - t0))
    if args.metrics_out:
        doc = {
            "model": args.out,
            "model_sha256": onnx_sha,
            "data": args.data,
            "data_sha256": data_sha,
            "command": command,
            "seed": args.seed,
            "features": flows.columns,
            "read": flows.report.as_dict(),
            "hidden": hidden,
            "bias": args.bias,
            "epochs": args.epochs,
            "heldout": metrics,
            "operating_point": op,
            "protocols": protocols,
            "protocol_notes": proto_notes,
            "class_weight": args.class_weight,
            "ops": ev.op_types(),
            "metadata": {k: v for k, v in ev.metadata.items() if k != "nnbpf.calibration"},
            "calibration_rows": n_cal,
        }
        with open(args.metrics_out, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
