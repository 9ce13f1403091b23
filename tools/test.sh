#!/usr/bin/env bash
# Run every test: installs missing Debian packages, builds, then runs the unit,
# lit, kernel and e2e suites with CTest. Kernel and e2e tests need root; under
# CI=true they fail (never skip) without it.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
export NNBPF_REPRO_DATA=${NNBPF_REPRO_DATA:-$(cd .. && pwd)/shared/data/ebpf-reproduction/flows.csv}
ctest --test-dir build --output-on-failure -j2 "$@"
