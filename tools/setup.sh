#!/usr/bin/env bash
# Install what nnbpf needs from Debian's packages (idempotent, quiet when
# everything is present) and build it into build/. Used by tools/demo.sh and
# tools/test.sh; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# Every group of tools/packages.txt: building, the tests (tools/test.sh), the
# demo and the lab (tools/demo.sh), training, deployment checks.
source tools/packages.bash
ensure_packages build test train deploy lab overhead || exit 1

if [[ ! -f build/build.ninja ]]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build build -j"$(nproc)"
