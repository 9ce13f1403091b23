# Shared helpers for kernel tests (sourced; not a test itself).
# Under CI=true a test that cannot get root/BPF fails; elsewhere it says why
# and exits 77, which ctest reports as "not run" — never as a pass.
set -euo pipefail

: "${NNBPF:?NNBPF must point at the nnbpf binary}"
: "${NNBPF_FIXTURES_DIR:?}"
: "${NNBPF_SOURCE_DIR:?}"
PY=/usr/bin/python3
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
