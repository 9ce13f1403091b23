#!/usr/bin/env bash
# The main job: build nnbpf, compile the bundled example model, prove it fits
# the kernel verifier, and classify sample flows inside the kernel next to the
# reference interpreter and the float model.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh >/dev/null
NNBPF=build/bin/nnbpf
MODEL=examples/models/nnbpf-repro-top6.onnx
SAMPLES=examples/models/nnbpf-repro-top6.holdout.csv
OUT=$(mktemp -d /tmp/nnbpf-demo.XXXXXX)
trap 'rm -rf "$OUT"' EXIT

echo "== nnbpf compile $MODEL"
$NNBPF compile "$MODEL" -o "$OUT/model"
echo
echo "== nnbpf check (loads every stage into the running kernel)"
$NNBPF check "$OUT/model"
echo
# Ten held-out flows: five benign, five intrusions.
awk -F, 'NR==1 {print; next} $NF==0 && b<5 {print; b++} $NF==1 && i<5 {print; i++}' "$SAMPLES" > "$OUT/sample.csv"
echo "== nnbpf infer --engine kernel on 10 held-out flows (BPF_PROG_TEST_RUN)"
$NNBPF infer "$OUT/model" --input "$OUT/sample.csv" --engine kernel > "$OUT/kernel.txt"
$NNBPF infer "$OUT/model" --input "$OUT/sample.csv" --engine reference > "$OUT/ref.txt"
$NNBPF infer "$OUT/model" --input "$OUT/sample.csv" --engine float > "$OUT/float.txt"
printf "%-62s %-6s %-24s %-9s %s\n" "flow features ($(head -n1 "$OUT/sample.csv" | cut -d, -f1-6 | tr , ' '))" label "kernel verdict,logits" reference float
paste -d'|' <(tail -n +2 "$OUT/sample.csv") "$OUT/kernel.txt" "$OUT/ref.txt" "$OUT/float.txt" |
  awk -F'|' '{ n=split($1,f,","); feats=""; for(i=1;i<n;i++) feats=feats f[i] " ";
               split($4,fl,","); ok = ($2==$3) ? "same" : "DIFF";
               printf "%-62s %-6s %-24s %-9s %s\n", feats, f[n], $2, ok, fl[1] }'
echo
echo "Kernel and reference logits are bit-identical where the table says 'same'."
