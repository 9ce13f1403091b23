#!/usr/bin/python3
"""capture_model.py OUT.onnx: a model that reads all 24 catalog features and
always answers benign (logits 1, -1). `nnbpf run --monitor --json` with it
reports every ended flow with every feature the XDP extractor computed: the
lab's stand-in for `nnbpf capture` where that command is not built in
(tools/lab/capture.sh)."""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import nnbpf_data as nd


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: capture_model.py OUT.onnx\n")
        sys.exit(2)
    cat = nd.load_catalog()
    n = len(cat)
    # The input ranges stay the catalog's (no nnbpf.input_ranges): nothing is clamped.
    std = np.array([max(float(f.hi), 1.0) for f in cat], np.float32)
    w = np.zeros((2, n), np.float32)
    w[1, 0] = 1e-3  # a weight that never decides: |dst_port / 65535 * 1e-3| << 2
    b = np.array([1.0, -1.0], np.float32)
    inits = [numpy_helper.from_array(np.zeros(n, np.float32), "mean"), numpy_helper.from_array(std, "std"),
             numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")]
    nodes = [helper.make_node("Sub", ["features", "mean"], ["c"]),
             helper.make_node("Div", ["c", "std"], ["z"]),
             helper.make_node("Gemm", ["z", "w", "b"], ["logits"], transB=1)]
    g = helper.make_graph(nodes, "nnbpf_capture", [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", n])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 2])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    helper.set_model_props(m, {"nnbpf.features": ",".join(f.name for f in cat)})
    onnx.checker.check_model(m)
    onnx.save(m, sys.argv[1])


if __name__ == "__main__":
    main()
