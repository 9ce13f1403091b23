#!/usr/bin/env bash
# The lab victim's servers, run by tools/lab/lab.sh up inside the victim's
# network namespace and a private mount namespace:
#   victim.sh WORKDIR
# WORKDIR (made by lab.sh) holds passwd/shadow/group copies that add the lab
# user, sshd_config + host key, vsftpd.conf, and receives the servers' logs.
# The copies are bind-mounted over /etc/passwd, /etc/shadow and /etc/group in
# this mount namespace only: the lab user exists for the victim's servers and
# nowhere else. Starts OpenSSH, vsftpd, the web app, nginx (HTTP :8080, HTTPS :443),
# dnsmasq (DNS :53) and three iperf3 servers, all bound to the victim's address, and waits; lab.sh down kills the namespace's
# processes.
set -euo pipefail
W=$1
source "$W/lab.env"
mount --make-rprivate /
for f in passwd shadow group; do mount --bind "$W/etc/$f" "/etc/$f"; done
# sshd's privilege-separation directory: a private tmpfs when /run/sshd exists,
# else created (root-owned, 0755, as the Debian service would).
if [[ -d /run/sshd ]]; then mount -t tmpfs -o mode=0755 tmpfs /run/sshd; else mkdir -p -m 0755 /run/sshd; fi

/usr/sbin/sshd -D -e -f "$W/sshd_config" 2> "$W/log/sshd.log" &
# vsftpd writes its start-up errors to fd 0.
/usr/sbin/vsftpd "$W/vsftpd.conf" 0> "$W/log/vsftpd.err" 2>&1 &
/usr/bin/python3 "$LAB_DIR/webapp.py" --bind "$VICTIM_IP" --port 80 --user "$LAB_USER" \
  --password "$LAB_PASSWORD" --log "$W/log/web.log" 2> "$W/log/web.err" &
# One iperf3 server per port: a server runs one test at a time.
for port in 5201 5202 5203; do
  iperf3 -s -B "$VICTIM_IP" -p "$port" > "$W/log/iperf3-$port.log" 2>&1 &
done
# nginx: static files over HTTP :8080 and HTTPS :443 (self-signed certificate
# made by lab.sh up), WebDAV PUT under /upload/.
/usr/sbin/nginx -c "$W/nginx.conf" > "$W/log/nginx.out" 2>&1 &
# dnsmasq: an authoritative-only DNS server for lab.test (no upstream, no DHCP).
/usr/sbin/dnsmasq --keep-in-foreground --conf-file="$W/dnsmasq.conf" > "$W/log/dnsmasq.out" 2>&1 &
wait
