#!/usr/bin/env bash
# --bpf-isa auto asks the kernel: as root the probe loads and the choice
# matches what the kernel's version supports (v4 from Linux 6.6: sign-extending
# moves), silently; without privileges compile still succeeds, says it chose
# from the kernel version, and the object it wrote loads (check as root).
source "$(dirname "$0")/lib.bash"
require_root_bpf

onnx=$NNBPF_FIXTURES_DIR/mlp_6_32_32_2.onnx
IFS=. read -r major minor _ <<< "$(uname -r)"
want=v3
((major > 6 || (major == 6 && minor >= 6))) && want=v4

"$NNBPF" compile "$onnx" -o "$WORK/root" > "$WORK/root.out" 2> "$WORK/root.err" || { cat "$WORK/root.err"; fail "compile as root"; }
got=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["bpf_isa"])' "$WORK/root/manifest.json")
[[ $got == "$want" ]] || fail "root: probed ISA $got, kernel $(uname -r) supports $want"
! grep -q "chosen from the kernel version" "$WORK/root.err" || fail "root: the probe was refused"

# The unprivileged user reads the model from $WORK (the build tree may sit
# in a directory only root can enter, as CI's clone does).
cp "$onnx" "$WORK/model.onnx"
chmod a+rwx "$WORK"
chmod a+r "$WORK/model.onnx"
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
  "$NNBPF" compile "$WORK/model.onnx" -o "$WORK/np" > "$WORK/np.out" 2> "$WORK/np.err" || { cat "$WORK/np.err"; fail "unprivileged compile"; }
cat "$WORK/np.err"
grep -q "warning: BPF ISA $want chosen from the kernel version: no privilege" "$WORK/np.err" || fail "unprivileged: no warning naming the fallback"
"$NNBPF" check "$WORK/np" > "$WORK/np.check" || { cat "$WORK/np.check"; fail "the unprivileged compile's object does not verify"; }
echo "bpf_isa: PASS"
