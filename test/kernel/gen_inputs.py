#!/usr/bin/python3
"""gen_inputs.py MANIFEST N SEED OUT.csv: N random raw feature rows for the
model described by MANIFEST (its features, clamp ranges [lo, hi] and the
ranges it was quantized for [data_lo, data_hi]). A sixth of the values are
uniform in [data_lo, data_hi], a sixth uniform in [lo, hi], a third
log-uniform (small values matter for heavy-tailed features), a sixth at the
bounds of either range, and the rest beyond hi or at extreme values, to
exercise clamping."""
import csv
import sys

import numpy as np

import nnbpf_manifest


def main():
    manifest, n, seed, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    m = nnbpf_manifest.load(manifest)
    rng = np.random.default_rng(seed)
    cols = []
    for inp in m["inputs"]:
        lo, hi = int(inp["lo"]), int(inp["hi"])
        dlo, dhi = int(inp.get("data_lo", lo)), int(inp.get("data_hi", hi))
        kind = rng.integers(0, 6, size=n)

        def uniform(a, b):
            return rng.integers(a, b, size=n, endpoint=True, dtype=np.uint64) if b > a else np.full(n, a, dtype=np.uint64)

        uni = np.where(rng.integers(0, 2, size=n) == 0, uniform(dlo, dhi), uniform(lo, hi))
        logu = np.floor(np.exp(rng.uniform(0, np.log(hi + 2.0), size=n))).astype(np.float64) - 1
        logu = np.clip(logu, lo, hi).astype(np.uint64)
        edge = np.array([lo, hi, dlo, dhi], dtype=np.uint64)[rng.integers(0, 4, size=n)]
        with np.errstate(over="ignore"):  # hi may be the top of u64: beyond wraps, still a valid input
            beyond = (np.uint64(hi) + rng.integers(1, 1 << 20, size=n, dtype=np.uint64)).astype(np.uint64)
        huge = np.full(n, (1 << 63) - 1, dtype=np.uint64)
        col = np.select([kind <= 1, kind <= 3, kind == 4], [uni, logu, edge],
                        np.where(rng.integers(0, 2, size=n) == 0, beyond, huge))
        cols.append(col)
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(m["features"])
        for i in range(n):
            w.writerow([int(c[i]) for c in cols])


if __name__ == "__main__":
    main()
