#!/usr/bin/env bash
# Install what nnbpf needs from Debian's packages (idempotent, quiet when
# everything is present) and build it into build/. Used by tools/demo.sh and
# tools/test.sh; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(cmake ninja-build g++ pkg-config
      llvm-19-dev libclang-cpp19-dev libclang-19-dev clang-19 llvm-19-tools
      libonnx-dev libprotobuf-dev protobuf-compiler
      libbpf-dev bpftool libelf-dev zlib1g-dev libzstd-dev linux-libc-dev
      libcli11-dev nlohmann-json3-dev libgtest-dev libgmock-dev googletest
      python3-onnx python3-torch python3-sklearn python3-numpy python3-matplotlib
      iproute2
      # deployment: libxdp (--attach libxdp), xdp-filter for its test, promtool and
      # Prometheus for the metrics tests, systemd-analyze for the unit
      libxdp-dev xdp-tools prometheus systemd python3-yaml
      # the live lab (tools/lab/): real servers and tools inside network namespaces
      openssh-server openssh-client sshpass vsftpd lftp curl nmap hydra slowhttptest httperf iperf3
      nginx dnsmasq-base bind9-dnsutils hping3 rsync wget
      openssl util-linux procps)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing Debian packages: ${missing[*]} (run as root to install them)" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ! -f build/build.ninja ]]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build build -j"$(nproc)"
