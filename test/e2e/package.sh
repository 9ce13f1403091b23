#!/usr/bin/env bash
# The Debian package (tools/package.sh) and the service unit it ships:
# - the .deb holds the binary, the unit, the example configuration and the
#   docs, declares its Debian dependencies, and resolves against Debian's
#   archive (apt-get --simulate: the Containerfile's install step);
# - installed into a scratch root (dpkg-deb -x) it runs --version, compile
#   and check with the source and build trees hidden (private mount
#   namespace, empty tmpfs over them);
# - the unit passes systemd-analyze verify and the offline security review;
# - the unit's ExecStart and ExecReload, with %i and the paths substituted,
#   run the packaged binary on a live interface with only the unit's
#   capability bounding set (setpriv): attach, serve metrics, hot-update,
#   detach on SIGTERM. (systemd is not PID 1 here, so the sandboxing
#   directives themselves are only verified, not enforced.)
source "$(dirname "$0")/lib.bash"
: "${NNBPF_BUILD_DIR:?}"
deb=$("$NNBPF_SOURCE_DIR/tools/package.sh" "$NNBPF_BUILD_DIR") || fail "tools/package.sh failed"
echo "package: $deb ($(du -h "$deb" | cut -f1))"
[[ $(basename "$deb") =~ ^nnbpf_[0-9.]+_$(dpkg --print-architecture)\.deb$ ]] || fail "package name $(basename "$deb")"
dpkg-deb -c "$deb" | awk '{print $6}' > "$WORK/contents.txt"
for f in ./usr/bin/nnbpf ./usr/lib/systemd/system/nnbpf@.service ./usr/share/doc/nnbpf/examples/eth0.conf \
         ./usr/share/doc/nnbpf/deploy.md ./usr/share/doc/nnbpf/run.md ./usr/share/doc/nnbpf/README.md \
         ./usr/share/doc/nnbpf/help/nnbpf-run.txt ./usr/share/doc/nnbpf/help/nnbpf-compile.txt; do
  grep -qx "$f" "$WORK/contents.txt" || fail "package lacks $f"
done
grep -v -E '^\./(usr/(bin|share/doc/nnbpf|lib/systemd/system)(/|$))|^\./((usr|usr/lib|usr/share|usr/share/doc|usr/lib/systemd)/)?$' "$WORK/contents.txt" \
  && fail "unexpected files in the package"
deps=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $deps"
for d in libbpf1 libxdp1 libclang-cpp19 libclang-common-19-dev libbpf-dev linux-libc-dev; do
  [[ $deps == *"$d"* ]] || fail "Depends lacks $d"
done
apt-get install --simulate -qq "$deb" > "$WORK/simulate.txt" 2>&1 || { cat "$WORK/simulate.txt"; fail "the package's dependencies do not resolve"; }

# Scratch root, source and build trees out of sight.
ROOT=$WORK/root
dpkg-deb -x "$deb" "$ROOT"
cp "$NNBPF_FIXTURES_DIR/port_gate.onnx" "$WORK/a.onnx"
cp "$NNBPF_FIXTURES_DIR/port_gate_inv.onnx" "$WORK/b.onnx"
unshare -m bash -euo pipefail -c '
  for d in "$2" "$1"; do mount -t tmpfs -o ro,size=1m nnbpf-hidden "$d"; done
  [[ -z $(ls -A "$1") ]] || exit 3
  cd /
  "$3/usr/bin/nnbpf" --version
  "$3/usr/bin/nnbpf" compile "$4/a.onnx" -o "$4/a"
  "$3/usr/bin/nnbpf" check "$4/a"
' _ "$NNBPF_SOURCE_DIR" "$NNBPF_BUILD_DIR" "$ROOT" "$WORK" > "$WORK/scratch.txt" 2>&1 \
  || { cat "$WORK/scratch.txt"; fail "the packaged nnbpf does not work from a scratch root"; }
grep -q "^nnbpf 0" "$WORK/scratch.txt" && grep -q "result: PASS" "$WORK/scratch.txt" || { cat "$WORK/scratch.txt"; fail "scratch-root output"; }
echo "scratch root: --version, compile, check PASS with the source tree hidden"

# The unit: verify (no output allowed: warnings are failures) and review.
UNIT=$ROOT/usr/lib/systemd/system/nnbpf@.service
# Type=notify: systemd waits for the daemon's READY=1 (runtime/ready.cc).
[[ $(sed -n 's/^Type=//p' "$UNIT") == notify ]] || fail "the unit is not Type=notify"
mkdir -p "$WORK/units"
sed "s|/usr/bin/nnbpf|$ROOT/usr/bin/nnbpf|g" "$UNIT" > "$WORK/units/nnbpf@$IF_V.service"
systemd-analyze verify "$WORK/units/nnbpf@$IF_V.service" > "$WORK/verify.txt" 2>&1 || { cat "$WORK/verify.txt"; fail "systemd-analyze verify failed"; }
[[ ! -s $WORK/verify.txt ]] || { cat "$WORK/verify.txt"; fail "systemd-analyze verify warns"; }
systemd-analyze security --offline=yes --threshold=50 "$WORK/units/nnbpf@$IF_V.service" > "$WORK/security.txt" 2>&1 \
  || { tail -3 "$WORK/security.txt"; fail "the unit's exposure is above 5.0"; }
grep "Overall exposure" "$WORK/security.txt"

# The unit's commands, by hand, with the unit's capability bounding set.
setup_net
start_servers 8000,9999 60
ETC=$WORK/etc; mkdir -p "$ETC"
# Compiled directories (the fixture needs --scale-bits; an .onnx is compiled with defaults).
"$ROOT/usr/bin/nnbpf" compile "$WORK/a.onnx" -o "$WORK/ga" --scale-bits 16 > /dev/null
"$ROOT/usr/bin/nnbpf" compile "$WORK/b.onnx" -o "$WORK/gb" --scale-bits 16 > /dev/null
sed "s|^model = .*|model = $WORK/ga|; s|^allow = .*||" "$ROOT/usr/share/doc/nnbpf/examples/eth0.conf" > "$ETC/$IF_V.conf"
# One intrusion verdict blocks here (the test's intruder makes one flow).
printf 'block-after = 1\nmin-share = 0\n' >> "$ETC/$IF_V.conf"
unit_cmd() {  # ExecStart|ExecReload -> command line
  sed -n "s/^$1=//p" "$UNIT" | sed "s|%i|$IF_V|g; s|/usr/bin/nnbpf|$ROOT/usr/bin/nnbpf|; s|/etc/nnbpf/|$ETC/|g"
}
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT" | tr ' ' '\n' | sed 's/^CAP_/+/' | tr 'A-Z' 'a-z' | paste -sd, -)
echo "capabilities: $caps"
[[ $caps == *+bpf* && $caps == *+net_admin* && $caps == *+perfmon* ]] || fail "unit capabilities"
in_unit() { nsenter --net="/var/run/netns/$NS_V" setpriv --bounding-set=-all,"$caps" --no-new-privs -- "$@"; }
read -r -a start_cmd <<< "$(unit_cmd ExecStart)"
read -r -a reload_cmd <<< "$(unit_cmd ExecReload)"
# Readiness as systemd sees it (Type=notify): READY=1 on NOTIFY_SOCKET.
HARNESS_READY=notify harness_start "$NS_V" "$WORK/run.err" setpriv --bounding-set=-all,"$caps" --no-new-privs -- \
  "${start_cmd[@]}" > "$WORK/events.txt" || fail "ExecStart did not notify READY=1"
NNBPF_PID=$HARNESS_PID
cat "$WORK/run.err"
capeff=$((16#$(awk '/^CapEff/{print $2}' /proc/$NNBPF_PID/status)))
(( (capeff & 0x2) == 0 )) || fail "the daemon kept CAP_DAC_OVERRIDE: the bounding set was not applied"
out=$(in_c $PY "$TRAFFIC" connect "$IP_V" 9999 --count 1 --src "$IP_C" --rst; sleep 0.5; in_c $PY "$TRAFFIC" connect "$IP_V" 8000 --count 2 --src "$IP_C" --timeout 0.5)
[[ $out == *"ok=0 fail=2" ]] || fail "the service did not block an intruder: $out"
metrics=$(in_v curl -sf --max-time 5 http://127.0.0.1:9464/metrics) || fail "the service's metrics endpoint"
grep -q '^nnbpf_blocks_active 1$' <<< "$metrics" || { grep '^nnbpf_blocks' <<< "$metrics"; fail "the service's metrics: no active block"; }
gen0=$(stat_of param_generation)
sed -i "s|^model = .*|model = $WORK/gb|" "$ETC/$IF_V.conf"
in_unit "${reload_cmd[@]}" || fail "ExecReload failed"
[[ $(stat_of param_generation) -eq $((gen0 + 1)) ]] || fail "ExecReload did not hot-update"
kill -0 "$NNBPF_PID" || fail "ExecReload stopped the daemon"
harness_stop "$NNBPF_PID" 5 TERM || fail "SIGTERM did not stop the service"
[[ ! -e /sys/fs/bpf/nnbpf/$IF_V ]] || fail "pins left after SIGTERM"
echo "package: PASS ($(wc -l < "$WORK/contents.txt") entries)"
