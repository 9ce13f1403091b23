"""Shared helpers of nnbpf's Python training tools.

- the feature catalog, parsed from bpf_rt/include/nnbpf/catalog.def (the one
  table of features; nothing here copies it);
- flow CSV loading: nnbpf's own format (catalog-named columns + `label` 0/1)
  and CICFlowMeter / CIC-IDS-2017 CSVs (mapped to catalog names and units);
- a small numpy evaluator for the ONNX op set nnbpf's front end accepts
  (MLPs, and decision trees: ai.onnx.ml TreeEnsembleClassifier). It
  is "the float model" for the tools: metrics of a trained model are computed
  by running its exported ONNX graph, not the PyTorch module.

Only the standard library, numpy and (for the evaluator) onnx are needed.
Errors the user can cause raise DataError with a one-line message.
"""

import array
import csv
import hashlib
import math
import os
import re

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CATALOG = os.path.normpath(
    os.path.join(HERE, "..", "..", "bpf_rt", "include", "nnbpf", "catalog.def"))


class DataError(Exception):
    """A problem with the user's input (file, columns, names): one line."""


# ---------------------------------------------------------------------------
# Catalog

_FEATURE_RE = re.compile(
    r'^\s*NNBPF_FEATURE\(\s*(\d+)\s*,\s*([A-Za-z_][A-Za-z0-9_]*)\s*,'
    r'\s*(\d+)(?:[uU]?[lL]{0,2})\s*,\s*(\d+)(?:[uU]?[lL]{0,2})\s*,'
    r'\s*(\d+)\s*,\s*"((?:[^"\\]|\\.)*)"\s*\)', re.M)


class Feature:
    __slots__ = ("id", "name", "lo", "hi", "table_iv", "description")

    def __init__(self, id, name, lo, hi, table_iv, description):
        self.id, self.name, self.lo, self.hi = id, name, lo, hi
        self.table_iv, self.description = table_iv, description

    def __repr__(self):
        return "Feature(%d, %s, %d, %d)" % (self.id, self.name, self.lo, self.hi)


_catalog_cache = {}


def load_catalog(path=None):
    """Returns the catalog as a list of Feature ordered by id.

    path defaults to $NNBPF_CATALOG or the repository's catalog.def."""
    path = path or os.environ.get("NNBPF_CATALOG") or DEFAULT_CATALOG
    if path in _catalog_cache:
        return _catalog_cache[path]
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise DataError("cannot read feature catalog %s: %s" % (path, e.strerror))
    feats = [Feature(int(m.group(1)), m.group(2), int(m.group(3)), int(m.group(4)),
                     int(m.group(5)), m.group(6)) for m in _FEATURE_RE.finditer(text)]
    n_lines = len(re.findall(r"^\s*NNBPF_FEATURE\(", text, re.M))
    if not feats or n_lines != len(feats):
        raise DataError("%s: could not parse %d of %d NNBPF_FEATURE lines"
                        % (path, n_lines - len(feats), n_lines))
    feats.sort(key=lambda f: f.id)
    if [f.id for f in feats] != list(range(len(feats))):
        raise DataError("%s: feature ids are not 0..%d" % (path, len(feats) - 1))
    _catalog_cache[path] = feats
    return feats


def catalog_by_name(path=None):
    return {f.name: f for f in load_catalog(path)}


# ---------------------------------------------------------------------------
# CSV dialects: nnbpf's own format and CICFlowMeter's (CIC-IDS-2017,
# CSE-CIC-IDS2018, the 2021 re-extraction). The column table is
# compiler/support/flow_csv_dialects.def, shared with the C++ reader of
# `nnbpf infer --input`; the rules below are the same on both sides
# (docs/infer.md#input-files, examples/train/README.md#input-formats).

DEFAULT_DIALECTS = os.path.normpath(
    os.path.join(HERE, "..", "..", "compiler", "support", "flow_csv_dialects.def"))
_DIALECT_RE = re.compile(
    r'^\s*NNBPF_CSV_DIALECT\(\s*([a-z0-9_]+)\s*,\s*"([^"]*)"\s*,\s*"([^"]*)"\s*,\s*"([^"]*)"\s*\)', re.M)
_COLUMN_RE = re.compile(
    r'^\s*NNBPF_CSV_COLUMN\(\s*([a-z0-9_]+)\s*,\s*"([^"]*)"\s*,\s*([a-z0-9_]+)\s*,\s*(\d+)\s*\)', re.M)

NNBPF = "nnbpf"
REPRO_LABEL = "label"
REPRO_PROTO = "proto"    # nnbpf capture: tcp / udp
CIC_LABEL = "Label"
CIC_PROTO = "Protocol"   # IP protocol number (6, 17, 0)
CIC_BENIGN = "BENIGN"    # compared case-insensitively (CSE-CIC-IDS2018 writes "Benign")
ATTEMPTED_SUFFIX = " - Attempted"
ATTEMPTED_POLICIES = ("intrusion", "benign", "drop")
FORMAT_ALIASES = {"repro": NNBPF, "cicids": "cic"}  # --format names of earlier versions

PROTO_NUMBERS = {"tcp": 6, "udp": 17, "icmp": 1}
PROTO_NAMES = {v: k for k, v in PROTO_NUMBERS.items()}


class Dialect:
    __slots__ = ("name", "label", "proto", "description", "columns")

    def __init__(self, name, label, proto, description):
        self.name, self.label, self.proto, self.description = name, label, proto, description
        self.columns = {}   # column name -> (catalog feature, factor)


_dialect_cache = {}


def load_dialects(path=None):
    """The CICFlowMeter dialects, in table order: {name: Dialect}."""
    path = path or os.environ.get("NNBPF_CSV_DIALECTS") or DEFAULT_DIALECTS
    if path in _dialect_cache:
        return _dialect_cache[path]
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise DataError("cannot read the CSV dialect table %s: %s" % (path, e.strerror))
    out = {}
    for m in _DIALECT_RE.finditer(text):
        out[m.group(1)] = Dialect(*m.groups())
    cat = catalog_by_name()
    n_cols = 0
    for m in _COLUMN_RE.finditer(text):
        d, col, feat, factor = m.group(1), m.group(2), m.group(3), int(m.group(4))
        if d not in out or feat not in cat:
            raise DataError("%s: NNBPF_CSV_COLUMN(%s, \"%s\", %s): unknown dialect or feature"
                            % (path, d, col, feat))
        out[d].columns[col] = (feat, factor)
        n_cols += 1
    if n_cols != len(re.findall(r"^\s*NNBPF_CSV_COLUMN\(", text, re.M)) or not out:
        raise DataError("%s: could not parse every NNBPF_CSV_DIALECT/COLUMN line" % path)
    _dialect_cache[path] = out
    return out


def cic_to_catalog(dialect="cic2017"):
    """{column name: (catalog name, factor)} of one dialect."""
    return dict(load_dialects()[dialect].columns)


def parse_proto(cell):
    """IP protocol number of a `proto`/`Protocol` cell ("tcp", "6", "6.0");
    -1 when it is none."""
    c = cell.strip().lower()
    if c in PROTO_NUMBERS:
        return PROTO_NUMBERS[c]
    try:
        v = float(c)
    except ValueError:
        return -1
    return int(v) if v.is_integer() and 0 <= v <= 255 else -1


# ---------------------------------------------------------------------------
# CSV loading


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _open_text(path):
    # surrogateescape: CIC-IDS-2017 has a few non-UTF-8 bytes in its labels;
    # newline='' keeps line endings so held-out rows are copied byte for byte.
    try:
        return open(path, encoding="utf-8", errors="surrogateescape", newline="")
    except FileNotFoundError:
        raise DataError("%s: no such file" % path)
    except IsADirectoryError:
        raise DataError("%s: is a directory" % path)
    except OSError as e:
        raise DataError("%s: %s" % (path, e.strerror))


def _cell(s):
    """A cell as both readers see it: spaces/tabs/CR trimmed, then one pair
    of surrounding double quotes removed."""
    s = s.strip(" \t\r")
    if len(s) >= 2 and s[0] == '"' and s[-1] == '"':
        s = s[1:-1]
    return s


def _split(line):
    return [_cell(c) for c in line.rstrip("\r\n").split(",")]


def detect_dialect(header, fmt="auto"):
    """The dialect of a header (stripped names): 'nnbpf' when a column is a
    catalog feature name, else the CICFlowMeter dialect with the most
    columns in the table (ties: table order; tied dialects map the shared
    columns alike). fmt: auto | nnbpf | cic (any CIC dialect) | a dialect."""
    fmt = FORMAT_ALIASES.get(fmt, fmt)
    dialects = load_dialects()
    if fmt == NNBPF:
        return NNBPF
    if fmt in dialects:
        return fmt
    if fmt not in ("auto", "cic"):
        raise DataError("unknown --format %r (auto, nnbpf, cic, %s)" % (fmt, ", ".join(dialects)))
    names = set(header)
    if fmt == "auto" and names & set(catalog_by_name()):
        return NNBPF
    best, score = None, 0
    for d in dialects.values():
        s = len(names & set(d.columns))
        if s > score:
            best, score = d.name, s
    if best is None:
        if fmt == "auto" and REPRO_LABEL in names:
            return NNBPF
        raise DataError("no column names a catalog feature or a CICFlowMeter column "
                        "(dialects %s)" % ", ".join(dialects))
    return best


def detect_format(header):
    """Kept for callers of earlier versions: 'repro' or 'cicids'."""
    return "repro" if detect_dialect(header) == NNBPF else "cicids"


class ReadReport:
    """What reading a flow CSV did, counted the same way by the C++ reader
    (compiler/support/csv.cc) and printed by train.py and nnbpf infer."""

    REASONS = ("not a number", "NaN/Infinity", "negative", "too large", "empty label",
               "attempted")

    def __init__(self, dialect):
        self.dialect = dialect
        self.rows_read = 0          # data rows (blank lines and repeated headers not counted)
        self.dropped = {}           # reason -> {column: rows}
        self.repaired = {}          # column -> rows with a fractional value rounded down
        self.header_repeats = 0
        self.duplicate_columns = []  # names seen again after their first column
        self.non_utf8_labels = 0
        self.attempted = 0          # "<attack> - Attempted" rows kept
        self.attempted_as = "intrusion"
        self.repaired_rows = 0      # rows with at least one repaired value

    def drop(self, reason, column, n=1):
        d = self.dropped.setdefault(reason, {})
        d[column] = d.get(column, 0) + n

    def n_dropped(self):
        return sum(sum(v.values()) for v in self.dropped.values())

    def summary(self):
        """One line: rows read, dropped (by reason and column), repaired."""
        def detail(d):
            return ", ".join("%s %d" % (c, n) for c, n in sorted(d.items()))
        parts = ["%s dialect: %d rows read" % (self.dialect, self.rows_read)]
        nd_ = self.n_dropped()
        if nd_:
            parts.append("%d dropped (%s)" % (nd_, "; ".join(
                "%s: %s" % (r, detail(self.dropped[r])) for r in self.REASONS if r in self.dropped)))
        else:
            parts.append("0 dropped")
        if self.repaired_rows:
            parts.append("%d repaired (fractional values rounded down: %s)"
                         % (self.repaired_rows, detail(self.repaired)))
        else:
            parts.append("0 repaired")
        if self.header_repeats:
            parts.append("%d repeated header lines skipped" % self.header_repeats)
        if self.duplicate_columns:
            parts.append("duplicate columns ignored (first kept): %s"
                         % ", ".join(self.duplicate_columns))
        if self.non_utf8_labels:
            parts.append("%d labels with non-UTF-8 bytes" % self.non_utf8_labels)
        if self.attempted:
            parts.append("%d '- Attempted' labels counted as %s" % (self.attempted,
                                                                    self.attempted_as))
        return "; ".join(parts)

    def as_dict(self):
        return {"dialect": self.dialect, "rows_read": self.rows_read,
                "dropped": self.n_dropped(), "dropped_by_reason": self.dropped,
                "repaired": self.repaired_rows, "repaired_by_column": self.repaired,
                "header_repeats": self.header_repeats,
                "duplicate_columns": self.duplicate_columns,
                "non_utf8_labels": self.non_utf8_labels, "attempted": self.attempted,
                "attempted_as": self.attempted_as}


class Flows:
    """A loaded flow CSV.

    columns   catalog names of the feature columns, in the file's order
              (only the requested ones when load_flows got `features`,
              then in the requested order)
    X         float64 [n, len(columns)] in catalog units: non-negative
              integers (CICFlowMeter values converted and rounded down)
    y         int64 [n], 0 benign / 1 intrusion
    line_no   int64 [n], 0-based physical line of each row in the file
              (the header is line 0), for copying rows out unchanged
    proto     int64 [n] IP protocol number per row (6 tcp, 17 udp, -1 when
              the cell is not a protocol), or None when the file has no
              protocol column (nnbpf's `proto`, CICFlowMeter's `Protocol`)
    report    ReadReport: dialect, rows read / dropped / repaired and why
    format    the dialect ('nnbpf', 'cic2017', 'cic2018', 'cic2021')
    """

    def __init__(self, path, fmt, columns, X, y, line_no, ignored, proto=None, report=None):
        self.path, self.format, self.columns = path, fmt, columns
        self.X, self.y, self.line_no, self.ignored = X, y, line_no, ignored
        self.proto, self.report = proto, report

    def __len__(self):
        return len(self.y)

    def finite_mask(self):
        return np.all(np.isfinite(self.X), axis=1)

    def subset(self, mask):
        return Flows(self.path, self.format, self.columns, self.X[mask],
                     self.y[mask], self.line_no[mask], self.ignored,
                     None if self.proto is None else self.proto[mask], self.report)

    def select(self, columns):
        """The same rows with only the given feature columns, in that order."""
        idx = [self.columns.index(c) for c in columns]
        return Flows(self.path, self.format, list(columns), self.X[:, idx],
                     self.y, self.line_no, self.ignored, self.proto, self.report)


_NUMBER_RE = re.compile(r"^-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")
_NONFINITE = {"inf", "infinity", "nan", "-inf", "-infinity", "-nan"}
_NOT_A_NUMBER = None
TWO64 = 18446744073709551616.0


def parse_number(s):
    """A cell as a float, as C++ std::from_chars reads it (decimal or
    scientific, optional '-', 'inf'/'infinity'/'nan' in any case), or None."""
    if _NUMBER_RE.match(s):
        return float(s)
    if s.lower() in _NONFINITE:
        return float(s.lower().replace("infinity", "inf"))
    return None


def _parse_count(s):
    """nnbpf format: a non-negative integer, or an integral float ('12.0');
    None otherwise (the C++ reader's parse_count)."""
    if s.isascii() and s.isdigit():
        v = int(s)
        return float(v) if v < (1 << 64) else None
    v = parse_number(s)
    if v is None or s.startswith("-") or not math.isfinite(v) or v < 0 or v != math.floor(v) \
            or v >= TWO64:
        return None
    return v


def load_flows(path, fmt="auto", features=None, catalog=None, attempted="intrusion"):
    """Reads a flow CSV (see Flows and ReadReport). fmt: auto | nnbpf |
    cic | cic2017 | cic2018 | cic2021 ('repro', 'cicids': earlier names).

    features: optional list of catalog names to load, in that order; each
    must be a catalog name present in the file. attempted: what a CIC label
    '<attack> - Attempted' is: intrusion | benign | drop. Raises DataError
    (one line naming file, line and column) for what the C++ reader refuses
    too."""
    cat = catalog_by_name(catalog)
    if attempted not in ATTEMPTED_POLICIES:
        raise DataError("--attempted %r: one of %s" % (attempted, ", ".join(ATTEMPTED_POLICIES)))
    with _open_text(path) as f:
        header_line = ""
        header_no = 0
        for header_no, header_line in enumerate(f):
            if header_line.strip():
                break
        if not header_line.strip():
            raise DataError("%s: empty file (no header line)" % path)
        header = _split(header_line)
        dialect = detect_dialect(header, fmt)
        nnbpf = dialect == NNBPF
        rep = ReadReport(dialect)
        rep.attempted_as = attempted

        # column index -> (catalog name, factor, column name)
        mapped, ignored, seen_names = [], [], set()
        table = None if nnbpf else load_dialects()[dialect].columns
        for i, h in enumerate(header):
            if h in seen_names:
                if nnbpf and h in cat and (features is None or h in features):
                    raise DataError("%s:%d: column '%s' appears twice" % (path, header_no + 1, h))
                if not nnbpf and h in table:
                    rep.duplicate_columns.append(h)
                continue
            seen_names.add(h)
            m = (h, 1) if nnbpf and h in cat else table.get(h) if not nnbpf else None
            if m:
                mapped.append((i, m[0], m[1], h))
            else:
                ignored.append(h)
        label_name = REPRO_LABEL if nnbpf else load_dialects()[dialect].label
        if label_name not in header:
            raise DataError("%s: no '%s' column (%s format)" % (path, label_name, dialect))
        label_idx = header.index(label_name)
        proto_name = REPRO_PROTO if nnbpf else load_dialects()[dialect].proto
        proto_idx = header.index(proto_name) if proto_name in header else None

        by_name = {name: (i, mul, h) for i, name, mul, h in mapped}
        if features is not None:
            for name in features:
                if name not in cat:
                    raise DataError("unknown feature '%s' (not in the nnbpf catalog)" % name)
                if name not in by_name:
                    hint = "" if nnbpf else " (%s dialect: no column maps to it)" % dialect
                    raise DataError("%s: feature '%s' is not a column of this file%s"
                                    % (path, name, hint))
            if len(set(features)) != len(features):
                raise DataError("feature list names a feature twice")
            cols = list(features)
        else:
            cols = [name for _, name, _, _ in mapped]
        if not cols:
            raise DataError("%s: no column names a catalog feature (%s format)" % (path, dialect))
        idx = [by_name[c][0] for c in cols]
        muls = [by_name[c][1] for c in cols]
        src_names = [by_name[c][2] for c in cols]

        # array.array keeps big CIC files at 8 bytes per value.
        vals, labels, line_nos = array.array("d"), array.array("b"), array.array("q")
        protos = array.array("q")
        n_cells = len(header)
        for line_no, line in enumerate(f, start=header_no + 1):
            if not line.strip():
                continue
            cells = _split(line)
            if cells == header:
                rep.header_repeats += 1
                continue
            if len(cells) != n_cells:
                raise DataError("%s:%d: expected %d columns, found %d"
                                % (path, line_no + 1, n_cells, len(cells)))
            rep.rows_read += 1
            lab = cells[label_idx]
            if nnbpf:
                row = []
                for k, i in enumerate(idx):
                    v = _parse_count(cells[i])
                    if v is None:
                        raise DataError("%s:%d: column '%s': %s" % (
                            path, line_no + 1, cols[k], "empty value" if not cells[i]
                            else "not a non-negative integer: '%s'" % cells[i]))
                    row.append(v)
                try:
                    y = float(lab)
                except ValueError:
                    y = -1.0
                if y not in (0.0, 1.0):
                    raise DataError("%s:%d: label %r is not 0 or 1" % (path, line_no + 1, lab))
                y = int(y)
            else:
                row, bad = [], None
                for k, i in enumerate(idx):
                    v = parse_number(cells[i])
                    if v is None:
                        bad = "not a number"
                    elif math.isnan(v) or math.isinf(v):
                        bad = "NaN/Infinity"
                    elif v < 0:
                        bad = "negative"
                    else:
                        x = v * muls[k]
                        if x >= TWO64:
                            bad = "too large"
                        else:
                            row.append(x)
                            continue
                    rep.drop(bad, src_names[k])
                    break
                if bad:
                    continue
                if not lab:
                    rep.drop("empty label", label_name)
                    continue
                if any("\udc80" <= ch <= "\udcff" for ch in lab):
                    rep.non_utf8_labels += 1
                if lab.upper() == CIC_BENIGN:
                    y = 0
                elif lab.endswith(ATTEMPTED_SUFFIX):
                    if attempted == "drop":
                        rep.drop("attempted", label_name)
                        continue
                    rep.attempted += 1
                    y = 0 if attempted == "benign" else 1
                else:
                    y = 1
                fl = [math.floor(x) for x in row]
                if fl != row:
                    rep.repaired_rows += 1
                    for k, (a, b) in enumerate(zip(fl, row)):
                        if a != b:
                            rep.repaired[src_names[k]] = rep.repaired.get(src_names[k], 0) + 1
                    row = fl
            vals.extend(row)
            labels.append(y)
            line_nos.append(line_no)
            if proto_idx is not None:
                protos.append(parse_proto(cells[proto_idx]))
    if not line_nos:
        raise DataError("%s: no data rows%s" % (path, "" if not rep.n_dropped()
                                                 else " left (%s)" % rep.summary()))
    X = np.frombuffer(vals, dtype=np.float64).reshape(len(line_nos), len(cols)).copy()
    proto = np.frombuffer(protos, dtype=np.int64).copy() if proto_idx is not None else None
    return Flows(path, dialect, cols, X, np.frombuffer(labels, dtype=np.int8).astype(np.int64),
                 np.frombuffer(line_nos, dtype=np.int64).copy(), ignored, proto, rep)


def write_rows(src_path, line_nos, out_path):
    """Copies the header and the given physical lines of src_path to out_path
    unchanged (same bytes), in file order."""
    want = set(int(i) for i in line_nos)
    with _open_text(src_path) as f, \
            open(out_path, "w", encoding="utf-8", errors="surrogateescape", newline="") as out:
        eol = "\n"
        for line_no, line in enumerate(f):
            if line_no == 0:
                eol = "\r\n" if line.endswith("\r\n") else "\n"
            if line_no == 0 or line_no in want:
                if not line.endswith("\n"):  # last line without a line ending
                    line += eol
                out.write(line)


# ---------------------------------------------------------------------------
# ONNX: numpy evaluator of the op set nnbpf's front end accepts

ACCEPTED_OPS = ("Gemm", "MatMul", "Add", "Relu", "Sub", "Div", "Mul", "Flatten",
                "Reshape", "Identity", "Softmax", "LogSoftmax", "ArgMax",
                "Scaler", "TreeEnsembleClassifier", "LinearClassifier")


def linear_classifier(x, attrs):
    """ai.onnx.ml LinearClassifier with post_transform NONE: (labels, scores).
    scores = x @ coefficients^T + intercepts; a binary model with a single
    coefficient row scores [-z, z] (as the ONNX reference implementation);
    labels = classlabels_ints[argmax(scores)], lowest index on ties."""
    if attrs.get("post_transform", b"NONE") not in (b"NONE", "NONE"):
        raise DataError("LinearClassifier: only post_transform NONE is supported")
    labels = list(attrs.get("classlabels_ints", []))
    coef = np.asarray(attrs["coefficients"], dtype=x.dtype).reshape(-1, x.shape[1])
    z = x @ coef.T
    if "intercepts" in attrs:
        z = z + np.asarray(attrs["intercepts"], dtype=x.dtype)
    if coef.shape[0] == 1 and len(labels) == 2:
        z = np.concatenate([-z, z], axis=1)
    idx = np.argmax(z, axis=1)
    lab = np.asarray(labels, dtype=np.int64)[idx] if labels else idx.astype(np.int64)
    return lab, z


def _attrs(node):
    from onnx import helper
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


class _Trees:
    """Vectorized evaluation of an ai.onnx.ml TreeEnsembleClassifier node with
    post_transform NONE: scores[c] = base[c] + sum over trees of the class-c
    weight of the leaf reached. Comparisons in float64 against the node
    values as stored (float32 in nodes_values, double in
    nodes_values_as_tensor), as nnbpf's float engine does."""

    MODES = {"BRANCH_LEQ": 0, "BRANCH_LT": 1, "BRANCH_GTE": 2, "BRANCH_GT": 3,
             "BRANCH_EQ": 4, "BRANCH_NEQ": 5, "LEAF": 6}

    def __init__(self, node):
        from onnx import numpy_helper
        a = _attrs(node)

        def floats(name):
            if name + "_as_tensor" in a:
                return np.asarray(numpy_helper.to_array(a[name + "_as_tensor"]),
                                  dtype=np.float64).reshape(-1)
            return np.asarray(a.get(name, []), dtype=np.float32).astype(np.float64)

        if a.get("post_transform", b"NONE") not in (b"NONE", "NONE"):
            raise DataError("node '%s': post_transform %r not supported (NONE only)"
                            % (node.name, a["post_transform"]))
        labels = list(a.get("classlabels_int64s", []))
        if labels != list(range(len(labels))) or len(labels) < 2:
            raise DataError("node '%s': classlabels_int64s must be 0..N-1" % node.name)
        self.n_classes = len(labels)
        tids = list(a["nodes_treeids"])
        nids = list(a["nodes_nodeids"])
        key = {(t, n): i for i, (t, n) in enumerate(zip(tids, nids))}
        modes = [m.decode() if isinstance(m, bytes) else m for m in a["nodes_modes"]]
        self.mode = np.array([self.MODES[m] for m in modes], dtype=np.int64)
        self.feature = np.array(a["nodes_featureids"], dtype=np.int64)
        self.value = floats("nodes_values")
        n = len(tids)
        self.true = np.arange(n)
        self.false = np.arange(n)
        for i in range(n):
            if self.mode[i] != 6:
                self.true[i] = key[(tids[i], a["nodes_truenodeids"][i])]
                self.false[i] = key[(tids[i], a["nodes_falsenodeids"][i])]
        self.weights = np.zeros((n, self.n_classes))
        cw = floats("class_weights")
        for t, nd_, c, w in zip(a["class_treeids"], a["class_nodeids"], a["class_ids"], cw):
            self.weights[key[(t, nd_)], c] += w
        base = floats("base_values")
        self.base = base if len(base) else np.zeros(self.n_classes)
        children = set(self.true[self.mode != 6]) | set(self.false[self.mode != 6])
        self.roots = [i for i in range(n) if i not in children]
        self.depth = n  # an upper bound on the levels; leaves loop to themselves

    def scores(self, X):
        X = np.asarray(X, dtype=np.float64)
        rows = np.arange(len(X))
        out = np.tile(self.base, (len(X), 1))
        for r in self.roots:
            idx = np.full(len(X), r, dtype=np.int64)
            while True:
                m = self.mode[idx]
                live = m != 6
                if not live.any():
                    break
                z = X[rows, np.where(live, self.feature[idx], 0)]
                v = self.value[idx]
                go = np.select([m == 0, m == 1, m == 2, m == 3, m == 4, m == 5],
                               [z <= v, z < v, z >= v, z > v, z == v, z != v], False)
                idx = np.where(live, np.where(go, self.true[idx], self.false[idx]), idx)
            out += self.weights[idx]
        return out


class OnnxMLP:
    """Evaluates an ONNX MLP or tree-ensemble graph with numpy (float64 by default).

    Only ACCEPTED_OPS; anything else raises DataError naming the node."""

    def __init__(self, model_or_path, dtype=np.float64):
        import onnx
        from onnx import numpy_helper
        if isinstance(model_or_path, (str, bytes, os.PathLike)):
            try:
                model = onnx.load(model_or_path)
            except FileNotFoundError:
                raise DataError("%s: no such file" % model_or_path)
        else:
            model = model_or_path
        self.model = model
        self.dtype = dtype
        g = model.graph
        self.consts = {}
        for t in g.initializer:
            a = numpy_helper.to_array(t)
            self.consts[t.name] = a.astype(dtype) if a.dtype.kind == "f" else a
        init_names = set(self.consts)
        inputs = [i for i in g.input if i.name not in init_names]
        if len(inputs) != 1:
            raise DataError("model has %d graph inputs, expected 1" % len(inputs))
        self.input_name = inputs[0].name
        self.output_names = [o.name for o in g.output]
        self.nodes = list(g.node)
        for n in self.nodes:
            if n.op_type not in ACCEPTED_OPS:
                raise DataError("node '%s' (%s): op not in nnbpf's accepted set"
                                % (n.name, n.op_type))
        self.metadata = {p.key: p.value for p in model.metadata_props}

    def op_types(self):
        return [n.op_type for n in self.nodes]

    def run(self, x):
        """x: [batch, F] raw features. Returns the first graph output."""
        env = dict(self.consts)
        env[self.input_name] = np.asarray(x, dtype=self.dtype)
        for n in self.nodes:
            a = _attrs(n)
            ins = [env[i] if i else None for i in n.input]
            op = n.op_type
            if op == "Gemm":
                A, B = ins[0], ins[1]
                if a.get("transA", 0):
                    A = A.T
                if a.get("transB", 0):
                    B = B.T
                y = a.get("alpha", 1.0) * (A @ B)
                if len(ins) > 2 and ins[2] is not None:
                    y = y + a.get("beta", 1.0) * ins[2]
            elif op == "MatMul":
                y = ins[0] @ ins[1]
            elif op == "Add":
                y = ins[0] + ins[1]
            elif op == "Sub":
                y = ins[0] - ins[1]
            elif op == "Mul":
                y = ins[0] * ins[1]
            elif op == "Div":
                with np.errstate(divide="ignore", invalid="ignore"):
                    y = ins[0] / ins[1]
            elif op == "Relu":
                y = np.maximum(ins[0], 0)
            elif op == "Identity":
                y = ins[0]
            elif op == "Flatten":
                ax = a.get("axis", 1)
                s = ins[0].shape
                y = ins[0].reshape(int(np.prod(s[:ax])), -1)
            elif op == "Reshape":
                shape = [int(v) for v in ins[1]]
                shape = [ins[0].shape[i] if v == 0 else v for i, v in enumerate(shape)]
                y = ins[0].reshape(shape)
            elif op in ("Softmax", "LogSoftmax"):
                ax = a.get("axis", -1)
                z = ins[0] - ins[0].max(axis=ax, keepdims=True)
                lse = np.log(np.exp(z).sum(axis=ax, keepdims=True))
                y = np.exp(z - lse) if op == "Softmax" else z - lse
            elif op == "Scaler":
                off = np.asarray(a.get("offset", [0.0]), dtype=np.float32).astype(self.dtype)
                sc = np.asarray(a.get("scale", [1.0]), dtype=np.float32).astype(self.dtype)
                y = (ins[0].astype(self.dtype) - off) * sc
            elif op == "TreeEnsembleClassifier":
                sc = _Trees(n).scores(ins[0])
                env[n.output[0]] = np.argmax(sc, axis=1).astype(np.int64)
                if len(n.output) > 1 and n.output[1]:
                    env[n.output[1]] = sc
                self.last_scores = sc
                continue
            elif op == "ArgMax":
                y = np.argmax(ins[0], axis=a.get("axis", 0))
                if a.get("keepdims", 1):
                    y = np.expand_dims(y, a.get("axis", 0))
            elif op == "LinearClassifier":
                y, scores = linear_classifier(ins[0], a)
                if len(n.output) > 1 and n.output[1]:
                    env[n.output[1]] = scores
            else:  # pragma: no cover - filtered in __init__
                raise DataError("op %s not supported" % op)
            env[n.output[0]] = y
        return env[self.output_names[0]]

    def predict(self, x):
        """Verdicts: argmax of the output (lowest index on ties); an ArgMax
        head's output is returned as is."""
        out = self.run(x)
        if self.nodes and self.nodes[-1].op_type == "TreeEnsembleClassifier":
            return np.argmax(self.last_scores, axis=1).astype(np.int64)
        last = self.nodes[-1] if self.nodes else None
        if last is not None and (last.op_type == "ArgMax" or (
                last.op_type == "LinearClassifier" and last.output[0] == self.output_names[0])):
            return out.reshape(-1).astype(np.int64)
        return np.argmax(out, axis=1).astype(np.int64)


# ---------------------------------------------------------------------------
# Metrics


def binary_metrics(y_true, y_pred):
    """accuracy, precision, recall, F1, MCC of class 1 (intrusion), the benign
    false-positive rate fpr = fp / (fp + tn) (benign flows called intrusions)
    and the confusion matrix [[tn, fp], [fn, tp]], as a JSON-able dict."""
    y_true = np.asarray(y_true).astype(np.int64)
    y_pred = np.asarray(y_pred).astype(np.int64)
    tp = int(np.sum((y_true == 1) & (y_pred == 1)))
    tn = int(np.sum((y_true == 0) & (y_pred == 0)))
    fp = int(np.sum((y_true == 0) & (y_pred == 1)))
    fn = int(np.sum((y_true == 1) & (y_pred == 0)))
    n = tp + tn + fp + fn
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    den = math.sqrt(float(tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    mcc = (tp * tn - fp * fn) / den if den else 0.0
    return {
        "n": n,
        "accuracy": (tp + tn) / n if n else 0.0,
        "precision": prec,
        "recall": rec,
        "f1": f1,
        "fpr": fp / (fp + tn) if fp + tn else 0.0,
        "mcc": mcc,
        "confusion_matrix": [[tn, fp], [fn, tp]],
    }


def format_metrics(m):
    return ("accuracy %.6f  precision %.6f  recall %.6f  F1 %.6f  FPR %.6f  MCC %.6f\n"
            "confusion [[tn fp] [fn tp]] = [[%d %d] [%d %d]]"
            % (m["accuracy"], m["precision"], m["recall"], m["f1"], m["fpr"], m["mcc"],
               m["confusion_matrix"][0][0], m["confusion_matrix"][0][1],
               m["confusion_matrix"][1][0], m["confusion_matrix"][1][1]))
