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
  traffic.py packets HOST PORT --src ADDR --sport P --spec SPEC [--udp] [--gap S]
      one flow of exactly the packets SPEC lists, comma-separated, each
      PAYLOAD[:FLAGS[:DOFF]] (TCP: raw segments, FLAGS from S F R P A U,
      DOFF header words, default 5; --udp: datagrams of PAYLOAD bytes), GAP
      seconds apart. IPv4 or IPv6 (from HOST). Prints "sent=N".
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
    s = None
    for _ in range(args.count):
        if s is None or args.new_socket:  # --new-socket: one datagram per source port, as a UDP scan's probes
            if s is not None:
                s.close()
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            if args.src:
                s.bind((args.src, 0))
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


TCP_FLAG_BITS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10, "U": 0x20}


def packets(args):
    import struct
    v6 = ":" in args.host
    fam = socket.AF_INET6 if v6 else socket.AF_INET
    items = []
    for item in args.spec.split(","):
        parts = item.split(":")
        payload = int(parts[0])
        flags = sum(TCP_FLAG_BITS[c] for c in (parts[1] if len(parts) > 1 else "A"))
        doff = int(parts[2]) if len(parts) > 2 else 5
        items.append((payload, flags, doff))
    if args.udp:
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.bind((args.src, args.sport))
        for i, (payload, _, _) in enumerate(items):
            if i:
                time.sleep(args.gap)
            s.sendto(b"d" * payload, (args.host, args.port))
        print(f"sent={len(items)}")
        return
    s = socket.socket(fam, socket.SOCK_RAW, socket.IPPROTO_TCP)
    s.bind((args.src, 0))  # the kernel writes the IP header with this source
    src = socket.inet_pton(fam, args.src)
    dst = socket.inet_pton(fam, args.host)
    seq = 1000
    for i, (payload, flags, doff) in enumerate(items):
        if i:
            time.sleep(args.gap)
        opts = b"\x01" * (4 * doff - 20)  # NOP options
        hdr = struct.pack("!HHIIBBHHH", args.sport, args.port, seq, 1, doff << 4, flags, 1024, 0, 0) + opts
        seg = hdr + b"p" * payload
        if v6:
            pseudo = src + dst + struct.pack("!IxxxB", len(seg), socket.IPPROTO_TCP)
        else:
            pseudo = src + dst + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(seg))
        seg = seg[:16] + struct.pack("!H", _csum(pseudo + seg)) + seg[18:]
        s.sendto(seg, (args.host, 0))
        seq += payload + (1 if flags & 0x03 else 0)
    print(f"sent={len(items)}")


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
    for name in ("connect", "udp", "hold", "syn", "packets"):
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
        c.add_argument("--sport", type=int, default=0)
        c.add_argument("--spec", default="0:S")
        c.add_argument("--udp", action="store_true")
        c.add_argument("--new-socket", action="store_true", help="udp: each datagram from a new source port")
    args = ap.parse_args()
    {"serve": serve, "connect": connect, "udp": udp, "hold": hold, "syn": syn,
     "packets": packets}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
