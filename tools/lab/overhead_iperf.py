#!/usr/bin/python3
"""One timed iperf3 transfer for tools/lab/overhead.sh (run in the client's
network namespace).

  overhead_iperf.py HOST PORT N MB

Runs `iperf3 -c HOST -p PORT -P N -n N*MB M -J` and prints
"SECONDS BYTES": the time from starting the client until every byte of
every flow was delivered, and the bytes iperf3 sent. iperf3 with -n stops
when it has *written* the bytes into its sockets and exits; the kernel
then still drains the socket buffers. So after iperf3 exits this polls
/proc/net/tcp{,6} (1 ms) until no connection to PORT is still ESTABLISHED,
FIN_WAIT1, CLOSING or LAST_ACK: its last data and FIN were acknowledged by
the receiver -- or the iperf3 server, which closes its sockets as soon as
the client reports the test done, reset it while a tail of data was still
in flight (such a stream then ends without a FIN from the client). Bounded:
iperf3 300 s, draining 60 s.
"""
import json
import subprocess
import sys
import time

BUSY = {"01", "04", "0B", "09"}  # ESTABLISHED, FIN_WAIT1, CLOSING, LAST_ACK


def busy_sockets(port):
    n = 0
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    p = line.split()
                    if int(p[2].rsplit(":", 1)[1], 16) == port and p[3] in BUSY:
                        n += 1
        except FileNotFoundError:
            pass
    return n


def main():
    if len(sys.argv) != 5:
        sys.exit("usage: overhead_iperf.py HOST PORT N MB")
    host, port, n, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    cmd = ["iperf3", "-c", host, "-p", str(port), "-P", str(n), "-n", "%dM" % (n * mb), "-J"]
    t0 = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=300)
    if r.returncode != 0:
        sys.exit("iperf3 failed (exit %d): %s" % (r.returncode, r.stdout[-300:].decode(errors="replace")))
    deadline = time.monotonic() + 60
    while busy_sockets(port) and time.monotonic() < deadline:
        time.sleep(0.001)
    t1 = time.monotonic()
    if busy_sockets(port):
        sys.exit("connections to port %d still busy 60 s after iperf3 exited" % port)
    sent = json.loads(r.stdout)["end"]["sum_sent"]["bytes"]
    print("%.6f %d" % (t1 - t0, sent))


if __name__ == "__main__":
    main()
