#!/usr/bin/env bash
# nnbpf check on the paths a release check meets: a passing object, an object
# the verifier rejects (an out-of-bounds read of the parameter slot compiled
# into a stage: exit 1, program named, verifier log tail), and no privileges
# (labelled static estimate, exit 1).
source "$(dirname "$0")/lib.bash"
require_root_bpf

onnx=$NNBPF_FIXTURES_DIR/mlp_6_32_32_2.onnx
"$NNBPF" compile "$onnx" -o "$WORK/ok" > /dev/null
"$NNBPF" check "$WORK/ok" > "$WORK/ok.txt" || { cat "$WORK/ok.txt"; fail "check of a good object failed"; }
grep -q "result: PASS" "$WORK/ok.txt" || fail "no PASS line"

# Rejected object: same generated C with one bad read, built by clang-19.
cp -r "$WORK/ok" "$WORK/bad"
"$NNBPF" compile "$onnx" --emit c > "$WORK/bad.c"
sed -i '0,/a0 = (a0 >> sh) + p->b0\[0\];/s//a0 = (a0 >> sh) + ((const __s32 *)p)[1 << 20];/' "$WORK/bad.c"
grep -q '1 << 20' "$WORK/bad.c" || fail "could not inject the bad read"
clang-19 -target bpf -mcpu=v3 -O2 -g -Wno-array-bounds -mllvm -pre-RA-sched=source -I"$NNBPF_SOURCE_DIR/bpf_rt/include" -I"$NNBPF_SOURCE_DIR/bpf_rt" \
  -I/usr/include/"$(gcc -print-multiarch)" -c "$WORK/bad.c" -o "$WORK/bad/model.bpf.o"
set +e
"$NNBPF" check "$WORK/bad" > "$WORK/bad.out" 2> "$WORK/bad.err"
rc=$?
set -e
cat "$WORK/bad.err"
[[ $rc -eq 1 ]] || fail "rejected object: exit $rc, expected 1"
head -n1 "$WORK/bad.err" | grep -q "the verifier rejected program 'nnbpf_stage_0'" || fail "first line does not name the program"
grep -qi "invalid access to map value\|value_size" "$WORK/bad.err" || fail "no verifier log tail"

# Unprivileged: a labelled static estimate and a non-zero exit.
chmod -R a+rX "$WORK"
set +e
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$NNBPF" check "$WORK/ok" > "$WORK/np.out" 2> "$WORK/np.err"
rc=$?
set -e
cat "$WORK/np.out" "$WORK/np.err"
[[ $rc -eq 1 ]] || fail "unprivileged check: exit $rc, expected 1"
grep -q "STATIC ESTIMATE (not verified by the kernel)" "$WORK/np.out" || fail "static estimate not labelled"
grep -q "no privileges" "$WORK/np.err" || fail "no privilege message"
echo "check_cli: PASS"
