#!/usr/bin/python3
"""float_verdicts.py MODEL.onnx FLOWS.csv: the verdict of the float model (the
ONNX graph in numpy, as train.py evaluates it) on every row the Python
reader keeps (examples/train/nnbpf_data.py), one per line, to compare with
the first column of `nnbpf infer --engine float` on the same file."""
import sys

import nnbpf_data as nd

model = nd.OnnxMLP(sys.argv[1])
flows = nd.load_flows(sys.argv[2], features=model.metadata["nnbpf.features"].split(","))
for v in model.predict(flows.X):
    print(int(v))
