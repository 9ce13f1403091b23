#!/usr/bin/python3
"""print_meta.py MODEL.onnx: one line per metadata_props entry, in file order:
`KEY = VALUE` for one-line values, `KEY: N lines, first 'LINE'` for
multi-line ones (nnbpf.calibration), so lit tests can FileCheck them."""
import sys

import onnx

m = onnx.load(sys.argv[1])
for p in m.metadata_props:
    lines = p.value.splitlines()
    if len(lines) > 1:
        ints = all(c.isdigit() for line in lines[1:] for c in line.split(","))
        print("%s: %d lines, first '%s', rows %s" % (p.key, len(lines), lines[0],
                                                      "integers" if ints else "NOT integers"))
    else:
        print("%s = %s" % (p.key, p.value))
