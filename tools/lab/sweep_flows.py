#!/usr/bin/python3
"""Flow-table helper of tools/lab/sweep_scale.sh, through the bpf(2) syscall.

  sweep_flows.py fill PINDIR N [--age-s S]   N tracked TCP flows in PINDIR/nnbpf_flows
                                            (3 packets each, last packet S s ago);
                                            prints that last packet's CLOCK_MONOTONIC (s)
  sweep_flows.py ended PINDIR               flows classified so far (NNBPF_STAT_FLOWS_ENDED)
                                            and CLOCK_MONOTONIC now (s)
  sweep_flows.py scan PINDIR [REPEAT]       the in-kernel walk alone: PINDIR/nnbpf_sweep_scan
                                            (BPF_PROG_TEST_RUN, timeouts far: nothing due) ->
                                            mean CPU ms per walk and flows visited

Keys 10.a.b.c:1024 -> 10.255.255.254:80/tcp, one per flow; values are the
flow header (last_ns, pkts = 3: not embryonic) and zeros. Filled with
BPF_MAP_UPDATE_BATCH, 16,384 entries per call. CLOCK_MONOTONIC is the
clock of bpf_ktime_get_ns().
"""
import ctypes
import os
import struct
import sys
import time

SYS_BPF = 321  # x86_64
BPF_MAP_LOOKUP_ELEM, BPF_OBJ_GET, BPF_PROG_TEST_RUN, BPF_OBJ_GET_INFO_BY_FD, BPF_MAP_UPDATE_BATCH = 1, 7, 10, 15, 26
STAT_FLOWS_ENDED = 5
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(bytes(attr), 128)
    r = libc.syscall(SYS_BPF, cmd, buf, 128)
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, f"bpf({cmd}): {os.strerror(e)}")
    return r


def addr(buf):
    return ctypes.addressof(buf)


def obj_get(path):
    p = ctypes.create_string_buffer(path.encode())
    return bpf(BPF_OBJ_GET, struct.pack("=QII", addr(p), 0, 0))


def map_info(fd):
    info = ctypes.create_string_buffer(88)
    bpf(BPF_OBJ_GET_INFO_BY_FD, struct.pack("=IIQ", fd, 88, addr(info)))
    _type, _id, key_size, value_size, max_entries = struct.unpack_from("=5I", info.raw)
    return key_size, value_size, max_entries


def fill(pindir, n, age_s):
    fd = obj_get(pindir + "/nnbpf_flows")
    key_size, value_size, max_entries = map_info(fd)
    assert key_size == 40, key_size
    if n > max_entries:
        sys.exit(f"sweep_flows.py: {n} flows do not fit nnbpf_flows ({max_entries} entries)")
    last_ns = time.monotonic_ns() - int(age_s * 1e9)
    dst = bytes(10) + b"\xff\xff" + bytes([10, 255, 255, 254])
    chunk = 16384
    for start in range(0, n, chunk):
        count = min(chunk, n - start)
        keys = ctypes.create_string_buffer(count * key_size)
        vals = ctypes.create_string_buffer(count * value_size)
        for j in range(count):
            i = start + j
            src = bytes(10) + b"\xff\xff" + bytes([10, (i >> 16) & 255, (i >> 8) & 255, i & 255])
            struct.pack_into("=16s16sHHB3x", keys, j * key_size, src, dst, 1024 + (i >> 24), 80, 6)
            struct.pack_into("=QI", vals, j * value_size, last_ns, 3)
        attr = struct.pack("=QQQQIIQQ", 0, 0, addr(keys), addr(vals), count, fd, 0, 0)
        bpf(BPF_MAP_UPDATE_BATCH, attr)
    os.close(fd)
    return last_ns


def ended(pindir):
    fd = obj_get(pindir + "/nnbpf_stats")
    with open("/sys/devices/system/cpu/possible") as f:
        spec = f.read().strip()
    ncpu = max(int(part.split("-")[-1]) for part in spec.split(",")) + 1
    key = ctypes.create_string_buffer(struct.pack("=I", STAT_FLOWS_ENDED))
    val = ctypes.create_string_buffer(8 * ncpu)
    bpf(BPF_MAP_LOOKUP_ELEM, struct.pack("=IIQQQ", fd, 0, addr(key), addr(val), 0))
    os.close(fd)
    return sum(struct.unpack_from(f"={ncpu}Q", val.raw))


def scan(pindir, repeat):
    fd = obj_get(pindir + "/nnbpf_sweep_scan")
    total = 0
    visited = 0
    for _ in range(repeat):
        # struct nnbpf_scan_args, timeouts far away: every flow's age is
        # computed, none is due. A syscall program runs in this thread: its
        # CPU time is the walk's.
        args = ctypes.create_string_buffer(struct.pack("=3Q4IQ", time.monotonic_ns(), 1 << 62, 1 << 62, 0, 0, 0, 0, 0), 48)
        attr = ctypes.create_string_buffer(struct.pack("=IIIIQQIIIIQQ", fd, 0, 0, 0, 0, 0, 0, 0, 48, 0, addr(args), 0), 128)
        t0 = time.thread_time_ns()
        if libc.syscall(SYS_BPF, BPF_PROG_TEST_RUN, attr, 128) < 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))
        total += time.thread_time_ns() - t0
        visited = struct.unpack_from("=Q", args.raw, 40)[0]
    os.close(fd)
    return total / repeat / 1e6, visited


def main(argv):
    if len(argv) >= 4 and argv[1] == "fill":
        age = float(argv[5]) if len(argv) >= 6 and argv[4] == "--age-s" else 0.0
        print(f"{fill(argv[2], int(argv[3]), age) / 1e9:.3f}")
    elif len(argv) == 3 and argv[1] == "ended":
        print(ended(argv[2]), f"{time.monotonic_ns() / 1e9:.3f}")
    elif len(argv) in (3, 4) and argv[1] == "scan":
        ms, visited = scan(argv[2], int(argv[3]) if len(argv) == 4 else 5)
        print(f"{ms:.3f} {visited}")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
