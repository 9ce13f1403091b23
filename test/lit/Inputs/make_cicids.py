#!/usr/bin/python3
"""make_cicids.py OUT.csv: a small CICFlowMeter / CIC-IDS-2017 style flow CSV,
with that data set's quirks: leading spaces in column names, "Fwd Header
Length" twice (the first is the real one), microsecond IATs, "Infinity" and
"NaN" in rate columns, a non-UTF-8 byte in an attack label. Every 30th row
holds the largest Fwd IAT Max (900000 us) and header length (180), so the
training split sees them whatever the seed. Benign flows go to port 443 with
small first packets, attacks to port 80 with large ones and long gaps, so a
model learns them in a few epochs. Deterministic."""
import random
import sys

HEADER = [" Destination Port", " Flow Duration", " Total Fwd Packets", "Total Length of Fwd Packets",
          " Fwd Packet Length Max", " Fwd Packet Length Min", " Fwd IAT Max", "Flow Bytes/s", " Fwd Packets/s",
          " Fwd Header Length", " Fwd Header Length", " Label"]


def main():
    rnd = random.Random(5)
    with open(sys.argv[1], "wb") as f:
        f.write((",".join(HEADER) + "\n").encode())
        for i in range(300):
            attack = i % 3 == 0
            pkts = 9 if i % 30 == 0 else rnd.randint(2, 8)
            lmax = rnd.randint(900, 1400) if attack else rnd.randint(40, 300)
            lmin = rnd.randint(0, 40)
            iat_us = 900000 if i % 30 == 0 else rnd.randint(200000, 899999) if attack else rnd.randint(10, 5000)
            rate = "NaN" if i == 8 else "%.3f" % (rnd.random() * 1e5)
            pps = "Infinity" if i == 7 else "%d" % rnd.randint(1, 5000)
            hdr = 20 * pkts
            label = (b"Web Attack \x96 Brute Force" if i % 2 else b"DDoS") if attack else b"BENIGN"
            row = [80 if attack else 443, iat_us * pkts, pkts, lmax * pkts, lmax, lmin, iat_us, rate, pps, hdr, hdr + 999]
            f.write(",".join(str(v) for v in row).encode() + b"," + label + b"\n")


if __name__ == "__main__":
    main()
