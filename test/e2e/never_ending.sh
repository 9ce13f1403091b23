#!/usr/bin/env bash
# Flows that never end with FIN/RST are classified too: a UDP stream (every N
# packets while it runs, then on idle), an idle TCP connection (idle timeout)
# and a SYN flood and single UDP datagrams (one-packet flows: the embryonic
# timeout, default 1 s).
source "$(dirname "$0")/lib.bash"
setup_net
"$NNBPF" compile "$NNBPF_FIXTURES_DIR/port_gate.onnx" -o "$WORK/gate" --scale-bits 16 > /dev/null
start_servers 8000 60
start_nnbpf "$WORK/gate" --monitor --idle-timeout 1s --every-packets 50

in_c $PY "$TRAFFIC" udp "$IP_V" 9999 --count 220 --gap 0.002 --src "$IP_C" > /dev/null
in_c $PY "$TRAFFIC" hold "$IP_V" 8000 --seconds 3 --src "$IP_C2" > /dev/null &
HOLD=$!; harness_track $HOLD
in_c $PY "$TRAFFIC" syn "$IP_V" 9998 --count 300 --src "$IP_C" > /dev/null
in_c $PY "$TRAFFIC" udp "$IP_V" 9997 --count 40 --new-socket --src "$IP_C" > /dev/null
wait "$HOLD"
sleep 2.5

every=$(count_events "e['event']=='verdict' and e['proto']=='udp' and e['reason']=='every_n'")
udp_idle=$(count_events "e['event']=='verdict' and e['proto']=='udp' and e['reason']=='idle' and e['verdict']==1")
tcp_idle=$(count_events "e['event']=='verdict' and e['proto']=='tcp' and e['dport']==8000 and e['reason']=='idle' and e['src']=='$IP_C2'")
syn_idle=$(count_events "e['event']=='verdict' and e['dport']==9998 and e['reason']=='embryonic' and e['features']['fwd_pkt_count']==1")
udp_one=$(count_events "e['event']=='verdict' and e['dport']==9997 and e['reason']=='embryonic' and e['features']['fwd_pkt_count']==1")
echo "udp every-N: $every, udp idle: $udp_idle, idle tcp: $tcp_idle, syn flood flows classified: $syn_idle, lone datagrams: $udp_one"
[[ $every -ge 4 ]] || fail "UDP stream not classified every 50 packets"
[[ $(count_events "e['event']=='verdict' and e['proto']=='udp' and e['reason']=='every_n' and e['features']['fwd_pkt_count']==50") -ge 1 ]] || fail "first every-N verdict not at packet 50"
[[ $udp_idle -ge 1 ]] || fail "UDP stream not classified after going idle"
[[ $tcp_idle -ge 1 ]] || fail "idle TCP connection not classified"
[[ $syn_idle -ge 290 ]] || fail "SYN flood flows not classified as embryonic ($syn_idle of 300)"
[[ $udp_one -eq 40 ]] || fail "lone UDP datagrams not classified as embryonic ($udp_one of 40)"
[[ $(count_events "e['event']=='verdict' and e['proto']=='udp' and e['reason']=='embryonic' and e['features']['fwd_pkt_count']>1") -eq 0 ]] || fail "a UDP flow of several datagrams ended as embryonic"
[[ $(stat_of packets_dropped) -eq 0 ]] || fail "monitor mode dropped packets"
stop_nnbpf
echo "never_ending: PASS"
