# Shared helpers for kernel tests (sourced; not a test itself).
# Under CI=true a test that cannot get root/BPF fails; elsewhere it says why
# and exits 77, which ctest reports as "not run" — never as a pass.
set -euo pipefail

: "${NNBPF:?NNBPF must point at the nnbpf binary}"
: "${NNBPF_FIXTURES_DIR:?}"
: "${NNBPF_SOURCE_DIR:?}"
PY=/usr/bin/python3
export PYTHONPATH=$NNBPF_SOURCE_DIR/examples/train${PYTHONPATH:+:$PYTHONPATH}  # the Python package
REPRO_DATA=${NNBPF_REPRO_DATA:-$NNBPF_SOURCE_DIR/../shared/data/ebpf-reproduction/flows.csv}

require_root_bpf() {
  if [[ $(id -u) -ne 0 ]]; then
    if [[ "${CI:-}" == "true" ]]; then echo "FAIL: kernel tests need root under CI" >&2; exit 1; fi
    echo "SKIP: not root" >&2; exit 77
  fi
}

require_repro_data() {
  if [[ ! -f "$REPRO_DATA" ]]; then
    if [[ "${CI:-}" == "true" ]]; then echo "FAIL: data set missing: $REPRO_DATA" >&2; exit 1; fi
    echo "SKIP: data set missing: $REPRO_DATA" >&2; exit 77
  fi
}

WORK=$(mktemp -d /tmp/nnbpf-kt.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# Runs INPUT (a CSV: a header, then rows) through artifact DIR on each
# ENGINE (kernel and reference, and float if asked) into OUT.{kernel,ref,float}.txt
# (stderr beside, .err): one output line a row, and the kernel's output
# identical to the reference's, or failure naming LABEL.
infer_engines() {  # label dir input.csv out engine...
  local label=$1 dir=$2 input=$3 out=$4 e f rows
  shift 4
  rows=$(($(wc -l < "$input") - 1))
  for e in "$@"; do
    f=$out.${e/reference/ref}
    "$NNBPF" infer "$dir" --input "$input" --engine "$e" > "$f.txt" 2> "$f.err" || { cat "$f.err"; fail "$label: $e infer"; }
    [[ $(wc -l < "$f.txt") -eq $rows && $rows -gt 0 ]] || fail "$label: expected $rows $e rows"
  done
  cmp -s "$out.kernel.txt" "$out.ref.txt" || {
    diff <(head -n 2000 "$out.kernel.txt") <(head -n 2000 "$out.ref.txt") | head -5
    fail "$label: kernel and reference differ"; }
}

# How many rows' verdicts (first column) differ between two outputs.
verdicts_differ() {  # a b
  paste -d' ' <(cut -d, -f1 "$1") <(cut -d, -f1 "$2") | awk '$1 != $2' | wc -l
}

# Compiles ONNX into $WORK/NAME (extra compile args after it) and checks it
# (PASS). Leaves $WORK/NAME.{compile,check}.txt.
compile_and_check() {  # name onnx [compile args...]
  local name=$1 onnx=$2 dir=$WORK/$1
  shift 2
  "$NNBPF" compile "$onnx" -o "$dir" "$@" > "$WORK/$name.compile.txt" || fail "$name: compile"
  "$NNBPF" check "$dir" > "$WORK/$name.check.txt" || { cat "$WORK/$name.check.txt"; fail "$name: check"; }
  grep -q "result: PASS" "$WORK/$name.check.txt" || fail "$name: check did not pass"
}

# compile_and_check, then 10,000 random rows (test/kernel/gen_inputs.py,
# seed 7) through the kernel and the reference: identical output or failure.
# Leaves $WORK/NAME.{in.csv,kernel.txt,ref.txt,kernel.err}.
check_kernel_equals_reference() {  # name onnx [compile args...]
  local name=$1
  compile_and_check "$@"
  $PY "$NNBPF_SOURCE_DIR/test/kernel/gen_inputs.py" "$WORK/$name/manifest.json" 10000 7 "$WORK/$name.in.csv"
  infer_engines "$name" "$WORK/$name" "$WORK/$name.in.csv" "$WORK/$name" kernel reference
}
