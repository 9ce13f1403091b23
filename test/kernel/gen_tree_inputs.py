#!/usr/bin/python3
"""gen_tree_inputs.py IR.txt N SEED OUT.csv: N raw feature rows for a tree
model, from its `nnbpf compile --emit ir` listing (input names and node
thresholds). Per cell: half the time a threshold of that feature (t-1, t or
t+1; a node's exact value decides between its branches), else log-uniform
up to 2^40, or an extreme (0, 1, 2^63, 2^64-1)."""
import re
import sys

import numpy as np


def main():
    ir, n, seed, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    names, thr = [], {}
    for line in open(ir):
        m = re.match(r"input (\d+) (\S+) raw", line)
        if m:
            names.append(m.group(2))
        m = re.match(r"node \d+ x(\d+) (<=|==) (\d+) \?", line)
        if m and int(m.group(3)) < (1 << 64) - 1:
            thr.setdefault(int(m.group(1)), []).append(int(m.group(3)))
    if not names:
        sys.exit("gen_tree_inputs.py: %s: no 'input J NAME raw' lines (not a tree model?)" % ir)
    rng = np.random.default_rng(seed)
    extremes = [0, 1, 1 << 63, (1 << 64) - 1]
    with open(out, "w") as f:
        f.write(",".join(names) + "\n")
        for _ in range(n):
            row = []
            for j in range(len(names)):
                k = rng.integers(0, 8)
                if k < 4 and thr.get(j):
                    t = thr[j][int(rng.integers(0, len(thr[j])))]
                    v = t + int(rng.integers(-1, 2))
                    v = min(max(v, 0), (1 << 64) - 1)
                elif k < 7:
                    v = int(np.floor(np.exp(rng.uniform(0, np.log(2.0 ** 40)))))
                else:
                    v = extremes[int(rng.integers(0, len(extremes)))]
                row.append(str(v))
            f.write(",".join(row) + "\n")


if __name__ == "__main__":
    main()
