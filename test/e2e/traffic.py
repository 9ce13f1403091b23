#!/usr/bin/python3
"""Bounded TCP/UDP traffic for the e2e tests (run inside a test namespace).

  traffic.py serve --ports 8000,9999 --seconds 60
      accept TCP connections on every port, read until EOF, close; exits after --seconds.
  traffic.py connect HOST PORT --count N [--src ADDR] [--timeout S] [--bytes B] [--gap S] [--rst]
      N sequential connections; each sends B bytes and closes (FIN, or RST with --rst).
      Prints "ok=K fail=F".
  traffic.py udp HOST PORT --count N [--src ADDR] [--gap S]
      N datagrams of one UDP flow.
  traffic.py syn HOST PORT --count N --src ADDR [--ports-from P]
      N raw TCP SYNs from distinct source ports (a SYN flood: N one-packet flows).
  traffic.py hold HOST PORT --seconds S [--src ADDR]
      one TCP connection that sends a few bytes and then stays open, idle, for S seconds.
Every loop is bounded in count and time."""
import argparse
import selectors
import socket
import sys
import time


def serve(args):
    sel = selectors.DefaultSelector()
    for p in [int(x) for x in args.ports.split(",")]:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)  # dual-stack: IPv4 and IPv6
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(("::", p))
        s.listen(512)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, "listen")
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((args.bind, args.udp_port))
    u.setblocking(False)
    sel.register(u, selectors.EVENT_READ, "udp")
    deadline = time.time() + args.seconds
    while time.time() < deadline:
        for key, _ in sel.select(timeout=0.2):
            if key.data == "listen":
                try:
                    c, _ = key.fileobj.accept()
                except OSError:
                    continue
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ, "conn")
            elif key.data == "udp":
                try:
                    key.fileobj.recv(65535)
                except OSError:
                    pass
            else:
                try:
                    data = key.fileobj.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(key.fileobj)
                    key.fileobj.close()


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def connect(args):
    ok = fail = 0
    for _ in range(args.count):
        try:
            s = socket.socket(family(args.host), socket.SOCK_STREAM)
            s.settimeout(args.timeout)
            if args.src:
                s.bind((args.src, 0))
            s.connect((args.host, args.port))
            if args.bytes:
                s.sendall(b"x" * args.bytes)
            if args.rst:
                # Abortive close: the flow ends with RST, nothing is retransmitted.
                import struct
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()
                ok += 1
                continue
            s.shutdown(socket.SHUT_WR)
            s.settimeout(args.timeout)
            try:
                s.recv(16)
            except OSError:
                pass
            s.close()
            ok += 1
        except OSError:
            fail += 1
        if args.gap:
            time.sleep(args.gap)
    print(f"ok={ok} fail={fail}")


def udp(args):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if args.src:
        s.bind((args.src, 0))
    for _ in range(args.count):
        s.sendto(b"u" * 64, (args.host, args.port))
        if args.gap:
            time.sleep(args.gap)
    print(f"sent={args.count}")


def _csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def syn(args):
    import struct
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    sock.bind((args.src, 0))  # the kernel writes the IP header: bind sets its source address
    src = socket.inet_aton(args.src)
    dst = socket.inet_aton(args.host)
    deadline = time.time() + 120
    sent = 0
    for i in range(args.count):
        if time.time() > deadline:
            break
        sport = args.ports_from + (i % 60000)
        hdr = struct.pack("!HHIIBBHHH", sport, args.port, i, 0, 5 << 4, 0x02, 1024, 0, 0)
        pseudo = src + dst + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(hdr))
        hdr = hdr[:16] + struct.pack("!H", _csum(pseudo + hdr)) + hdr[18:]
        sock.sendto(hdr, (args.host, 0))
        sent += 1
    print(f"sent={sent}")


def hold(args):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    if args.src:
        s.bind((args.src, 0))
    s.connect((args.host, args.port))
    s.sendall(b"hello")
    time.sleep(args.seconds)
    s.close()
    print("held")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("serve")
    a.add_argument("--ports", required=True)
    a.add_argument("--bind", default="0.0.0.0")
    a.add_argument("--udp-port", type=int, default=5353)
    a.add_argument("--seconds", type=float, default=60)
    for name in ("connect", "udp", "hold", "syn"):
        c = sub.add_parser(name)
        c.add_argument("host")
        c.add_argument("port", type=int)
        c.add_argument("--src")
        c.add_argument("--count", type=int, default=1)
        c.add_argument("--timeout", type=float, default=2.0)
        c.add_argument("--bytes", type=int, default=32)
        c.add_argument("--gap", type=float, default=0)
        c.add_argument("--seconds", type=float, default=3)
        c.add_argument("--ports-from", type=int, default=2000)
        c.add_argument("--rst", action="store_true", help="end each connection with RST")
    args = ap.parse_args()
    {"serve": serve, "connect": connect, "udp": udp, "hold": hold, "syn": syn}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
