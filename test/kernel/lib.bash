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

# Compiles ONNX into $WORK/NAME (extra compile args after it), checks it
# (PASS), and runs 10,000 random rows (test/kernel/gen_inputs.py, seed 7)
# through the kernel and the reference: identical output or failure. Leaves
# $WORK/NAME.{in.csv,kernel.txt,ref.txt,kernel.err,compile.txt}.
check_kernel_equals_reference() {  # name onnx [compile args...]
  local name=$1 onnx=$2 dir=$WORK/$1
  shift 2
  "$NNBPF" compile "$onnx" -o "$dir" "$@" > "$WORK/$name.compile.txt" || fail "$name: compile"
  "$NNBPF" check "$dir" > "$WORK/$name.check.txt" || { cat "$WORK/$name.check.txt"; fail "$name: check"; }
  grep -q "result: PASS" "$WORK/$name.check.txt" || fail "$name: check did not pass"
  $PY "$NNBPF_SOURCE_DIR/test/kernel/gen_inputs.py" "$dir/manifest.json" 10000 7 "$WORK/$name.in.csv"
  "$NNBPF" infer "$dir" --input "$WORK/$name.in.csv" --engine kernel > "$WORK/$name.kernel.txt" 2> "$WORK/$name.kernel.err" \
    || { cat "$WORK/$name.kernel.err"; fail "$name: kernel infer"; }
  "$NNBPF" infer "$dir" --input "$WORK/$name.in.csv" --engine reference > "$WORK/$name.ref.txt" || fail "$name: reference infer"
  [[ $(wc -l < "$WORK/$name.kernel.txt") -eq 10000 ]] || fail "$name: expected 10000 kernel rows"
  cmp -s "$WORK/$name.kernel.txt" "$WORK/$name.ref.txt" || {
    diff <(head -n 2000 "$WORK/$name.kernel.txt") <(head -n 2000 "$WORK/$name.ref.txt") | head -5
    fail "$name: kernel and reference differ on random inputs"; }
}
