#!/usr/bin/env bash
# Builds the Debian package build/nnbpf_<version>_<arch>.deb from build/
# (cpack -G DEB; dependencies from dpkg-shlibdeps plus the run-time headers
# the in-process BPF compiler needs). Prints the package's path.
#   tools/package.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
[[ -f $BUILD/build.ninja || -f $BUILD/Makefile ]] || { echo "package: $BUILD is not a configured build directory (run tools/setup.sh)" >&2; exit 2; }
cmake --build "$BUILD" --target nnbpf >/dev/null

# Man-style help: one text file per command, from the binary being packaged.
rm -rf "$BUILD/help"
mkdir -p "$BUILD/help"
"$BUILD/bin/nnbpf" --help > "$BUILD/help/nnbpf.txt"
for cmd in compile check infer run capture update hosts stats bench; do
  "$BUILD/bin/nnbpf" "$cmd" --help > "$BUILD/help/nnbpf-$cmd.txt"
done

rm -f "$BUILD"/nnbpf_*.deb
(cd "$BUILD" && cpack -G DEB >/dev/null) || { echo "package: cpack failed (see $BUILD/_CPack_Packages)" >&2; exit 1; }
deb=$(ls "$BUILD"/nnbpf_*.deb)
[[ $(echo "$deb" | wc -l) -eq 1 ]] || { echo "package: expected one .deb, got: $deb" >&2; exit 1; }
echo "$deb"
