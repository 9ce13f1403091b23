#!/usr/bin/python3
"""boundary_rows.py NNBPF DIR DATA.csv PAIRS SEED OUT.csv: a dense sample around
the float model's decision boundary. Picks PAIRS random pairs of DATA rows the
float model (nnbpf infer DIR --engine float) judges differently, bisects the
integer line between them (x(t) = round(a + (b - a) * t / 2^10)) to a crossing,
i.e. locates it to 1/1024 of the distance between two real flows, and writes
the rows x(t) for the 12 steps t around it (6 on each side). Every float
evaluation is one batched nnbpf infer call; 10 rounds. (At 1/65536 some rows
lie within 1e-4 of a tie in the float model's units and flip:
test/unit/driver_fidelity_test.cc measures that.)"""
import csv
import subprocess
import sys
import tempfile

import numpy as np

import nnbpf_manifest

T = 1 << 10


def verdicts(nnbpf, d, header, rows):
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=True) as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
        f.flush()
        out = subprocess.run([nnbpf, "infer", d, "--input", f.name, "--engine", "float"], check=True,
                             capture_output=True, text=True).stdout
    return np.array([int(line.split(",")[0]) for line in out.splitlines()])


def point(a, b, t):
    """a + (b - a) * t / T per feature, rounded half up, in exact integers."""
    out = []
    for x, y in zip(a, b):
        q, r = divmod((int(y) - int(x)) * int(t), T)
        out.append(int(x) + q + (1 if 2 * r >= T else 0))
    return out


def main():
    nnbpf, d, data, pairs, seed, out = sys.argv[1:7]
    pairs, seed = int(pairs), int(seed)
    with open(data) as f:
        r = csv.reader(f)
        header = next(r)
        feats = nnbpf_manifest.load(d)["features"]
        cols = [header.index(x) for x in feats]
        rows = [[int(float(row[c])) for c in cols] for row in r]
    v = verdicts(nnbpf, d, feats, rows)
    rng = np.random.default_rng(seed)
    neg, pos = np.flatnonzero(v == 0), np.flatnonzero(v == 1)
    if len(neg) == 0 or len(pos) == 0:
        sys.exit("boundary_rows.py: the float model gives one verdict on every data row")
    A = [rows[i] for i in rng.choice(neg, pairs)]
    B = [rows[i] for i in rng.choice(pos, pairs)]
    lo = np.zeros(pairs, dtype=np.int64)   # verdict 0 at lo
    hi = np.full(pairs, T, dtype=np.int64)  # verdict 1 at hi
    while np.any(hi - lo > 1):
        mid = (lo + hi) // 2
        vm = verdicts(nnbpf, d, feats, [point(A[k], B[k], mid[k]) for k in range(pairs)])
        lo = np.where(vm == 0, mid, lo)
        hi = np.where(vm == 1, mid, hi)
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(feats)
        for k in range(pairs):
            for t in range(lo[k] - 5, hi[k] + 6):
                if 0 <= t <= T:
                    w.writerow(point(A[k], B[k], t))


if __name__ == "__main__":
    main()
