# Shared by coexist.sh and coexist_shared.sh (sourced after lib.bash).
command -v xdp-filter > /dev/null || fail "needs xdp-filter (Debian xdp-tools; tools/setup.sh)"
vx() { nsenter --net="/var/run/netns/$NS_V" "$@"; }  # keeps this mount namespace (bpffs pins)
harness_on_exit 'vx xdp-filter unload "$IF_V"'
setup_net
"$NNBPF" compile "$NNBPF_FIXTURES_DIR/port_gate.onnx" -o "$WORK/gate" --scale-bits 16 > /dev/null
start_servers 7000,8000,9999 120
conn() {  # port src count -> "ok=N fail=M"
  in_c $PY "$TRAFFIC" connect "$IP_V" "$1" --count "$3" --src "$2" --timeout 0.5
}
start_libxdp() {
  start_nnbpf "$WORK/gate" --attach libxdp --xdp-priority 20 --block-ttl 120s --block-after 1 --min-share 0
}

vx xdp-filter load "$IF_V" --mode native --policy allow > "$WORK/filter-load.txt" 2>&1 || { cat "$WORK/filter-load.txt"; fail "xdp-filter load"; }
vx xdp-filter port 7000 --mode dst || fail "xdp-filter port 7000"
[[ $(conn 7000 "$IP_C" 3) == "ok=0 fail=3" ]] || fail "xdp-filter alone does not drop port 7000"
vx xdp-loader status "$IF_V" | tee "$WORK/status0.txt"
dispatcher=no
grep -q xdp_dispatcher "$WORK/status0.txt" && dispatcher=yes
echo "libxdp dispatcher on this kernel: $dispatcher"

