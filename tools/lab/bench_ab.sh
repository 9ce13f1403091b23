#!/usr/bin/env bash
# Before/after of `nnbpf bench` and `nnbpf infer --engine kernel`: two nnbpf
# binaries (e.g. main's build and a branch's) run alternately, RUNS times
# each, on the same models, each binary measuring the artifact its own
# compiler wrote. Prints a markdown table per model: every run's median and
# the median of the runs (docs/PERFORMANCE.md).
#
#   sudo tools/lab/bench_ab.sh BEFORE_BIN AFTER_BIN OUT_DIR MODEL.onnx...
#
# Environment: RUNS (3), BATCHES (11), REPEAT (20000), INFER_ROWS (100),
# REUSE=1 keeps artifacts already in OUT_DIR (compiling [24,128,128,128,2]
# takes minutes on a loaded machine). Every measurement holds
# /tmp/nnbpf-e2e.lock, so kernel and e2e tests of other worktrees do not run
# beside it. Root (or CAP_BPF) needed; nothing is attached to an interface.
set -euo pipefail

usage() { echo "usage: $0 BEFORE_BIN AFTER_BIN OUT_DIR MODEL.onnx..." >&2; exit 2; }
[[ $# -ge 4 ]] || usage
before=$1 after=$2 out=$3
shift 3
for b in "$before" "$after"; do [[ -x $b ]] || { echo "bench_ab: $b: not an executable" >&2; exit 2; }; done
runs=${RUNS:-3} batches=${BATCHES:-11} repeat=${REPEAT:-20000} rows=${INFER_ROWS:-100}
here=$(cd "$(dirname "$0")" && pwd)
gen_inputs=$here/../../test/kernel/gen_inputs.py
mkdir -p "$out"

locked() { flock /tmp/nnbpf-e2e.lock "$@"; }

for model in "$@"; do
  [[ -f $model ]] || { echo "bench_ab: $model: no such file" >&2; exit 2; }
  name=$(basename "$model" .onnx)
  for side in before after; do
    bin=${!side} dir=$out/$name.$side
    if [[ ${REUSE:-0} != 1 || ! -f $dir/manifest.json ]]; then
      rm -rf "$dir"
      /usr/bin/time -f "%e s wall, %U s user" -o "$out/$name.$side.compile_time" \
        "$bin" compile "$model" -o "$dir" > /dev/null
    fi
  done
  # Inference input: random rows over the model's input ranges (both
  # artifacts have the same features and ranges).
  /usr/bin/python3 "$gen_inputs" "$out/$name.after/manifest.json" "$rows" 1 "$out/$name.rows.csv"
  for ((r = 1; r <= runs; r++)); do
    for side in before after; do
      bin=${!side} dir=$out/$name.$side
      locked "$bin" bench "$dir" --batches "$batches" --repeat "$repeat" --json > "$out/$name.$side.$r.json"
      locked "$bin" infer "$dir" --input "$out/$name.rows.csv" --repeat 1000 2> "$out/$name.$side.$r.infer" > /dev/null
      "$bin" check "$dir" > "$out/$name.$side.check" 2>&1 || true
    done
  done
done

/usr/bin/python3 - "$out" "$runs" "$@" <<'EOF'
import json, re, statistics, sys, os
out, runs, models = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
rows = [("(a) empty XDP program", "empty_ns"), ("(b) mid-flow TCP packet", "packet_ns"),
        ("(b) above (a)", "packet_overhead_ns"),
        ("(b) while a block exists (bench since the host-filter skip)", "packet_with_blocks_ns"),
        ("(c) flow-ending packet", "flow_end_ns"),
        ("(c) above (a)", "flow_end_overhead_ns"), ("(d) blocked source", "blocked_ns"),
        ("(d) above (a)", None), ("inference entry-to-finish (bench)", "inference_ns"),
        ("inference, test run of the chain (bench)", "inference_chain_ns"),
        ("inference, `nnbpf infer` median per row", "infer_run"),
        ("inference, `nnbpf infer` entry-to-finish", "infer_chain"), ("events lost", "events_lost")]
def val(j, key, inf):
    if key is None:
        return j["blocked_ns"] - j["empty_ns"]
    if key.startswith("infer_"):
        return inf.get(key)
    return j.get(key)
def fmt(vs):
    vs = [v for v in vs if v is not None]
    if not vs:
        return "—", "—"
    return " / ".join(f"{v:,}" for v in vs), f"{int(statistics.median(vs)):,}"
for m in models:
    name = os.path.basename(m)[:-5]
    print(f"\n{name}\n")
    print("| path | before, runs (ns) | before median | after, runs (ns) | after median |")
    print("|---|---|---:|---|---:|")
    data = {}
    for side in ("before", "after"):
        data[side] = []
        for r in range(1, runs + 1):
            j = json.load(open(f"{out}/{name}.{side}.{r}.json"))
            t = open(f"{out}/{name}.{side}.{r}.infer").read()
            mm = re.search(r"median (\d+) ns per inference.*median (\d+) ns entry-to-finish", t)
            inf = {"infer_run": int(mm.group(1)), "infer_chain": int(mm.group(2))} if mm else {}
            data[side].append((j, inf))
    for label, key in rows:
        cells = []
        for side in ("before", "after"):
            cells += fmt([val(j, key, inf) for j, inf in data[side]])
        print(f"| {label} | " + " | ".join(cells) + " |")
    for side in ("before", "after"):
        chk = open(f"{out}/{name}.{side}.check").read()
        st = re.findall(r"^(nnbpf_stage_\d+)\s+(\d+)\s+(\d+)", chk, re.M)
        ct = open(f"{out}/{name}.{side}.compile_time").read().strip() if os.path.exists(f"{out}/{name}.{side}.compile_time") else "reused"
        print(f"\n{side}: stages (verified / insns) " + ", ".join(f"{s} {v:,}/{i:,}" for s, v, i in
              [(a, int(b), int(c)) for a, b, c in st]) + f"; compile {ct}")
EOF
