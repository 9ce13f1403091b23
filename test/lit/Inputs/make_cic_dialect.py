#!/usr/bin/python3
"""make_cic_dialect.py DIALECT OUT.csv: a small synthetic flow CSV in one of
the CICFlowMeter dialects nnbpf reads, with the published header (column
names and order as the data sets ship them) and each dialect's known quirks:

  cic2017  CIC-IDS-2017 MachineLearningCVE: leading spaces in names,
           "Fwd Header Length" twice, labels BENIGN / attack names with a
           non-UTF-8 byte (0x96), "Infinity" and "NaN" rates, a negative
           Fwd Header Length (CICFlowMeter's overflow), fractional means.
  cic2018  CSE-CIC-IDS2018: abbreviated names ("Dst Port", "Tot Fwd Pkts",
           "Fwd Header Len"), label "Benign", Protocol 0/6/17, a Timestamp,
           header lines repeated inside the file (day files concatenated),
           "Infinity" rates, negative header lengths, fractional means.
  cic2021  the 2021 re-extraction: "Dst Port", "Total Fwd Packet", labels
           BENIGN, attack names and "<attack> - Attempted", Protocol 6/17
           (benign and attack UDP flows), negative header lengths, NaN rates.

Half the flows are UDP (cic2018, cic2021), a few cic2018 flows protocol 0.
Benign flows go to port 443 (tcp) or 53 (udp) with small packets and short
gaps, attacks to port 80 (or 161 udp) with large packets and long gaps, so a
model learns them in a few epochs. Every 30th row holds the largest values,
so the training split sees them whatever the seed. Deterministic; no public
data is copied."""
import random
import sys

H2017 = ["Destination Port", "Flow Duration", "Total Fwd Packets", "Total Backward Packets",
         "Total Length of Fwd Packets", "Total Length of Bwd Packets", "Fwd Packet Length Max",
         "Fwd Packet Length Min", "Fwd Packet Length Mean", "Fwd Packet Length Std",
         "Flow Bytes/s", "Flow Packets/s", "Fwd IAT Total", "Fwd IAT Mean", "Fwd IAT Std",
         "Fwd IAT Max", "Fwd IAT Min", "Fwd PSH Flags", "Fwd URG Flags", "Fwd Header Length",
         "Bwd Header Length", "Fwd Packets/s", "Avg Fwd Segment Size", "Fwd Header Length",
         "Subflow Fwd Packets", "Subflow Fwd Bytes", "Init_Win_bytes_forward", "act_data_pkt_fwd",
         "min_seg_size_forward", "Label"]
H2018 = ["Dst Port", "Protocol", "Timestamp", "Flow Duration", "Tot Fwd Pkts", "Tot Bwd Pkts",
         "TotLen Fwd Pkts", "TotLen Bwd Pkts", "Fwd Pkt Len Max", "Fwd Pkt Len Min",
         "Fwd Pkt Len Mean", "Fwd Pkt Len Std", "Flow Byts/s", "Flow Pkts/s", "Fwd IAT Tot",
         "Fwd IAT Mean", "Fwd IAT Std", "Fwd IAT Max", "Fwd IAT Min", "Fwd PSH Flags",
         "Fwd URG Flags", "Fwd Header Len", "Bwd Header Len", "Fwd Pkts/s", "Fwd Seg Size Avg",
         "Subflow Fwd Pkts", "Subflow Fwd Byts", "Init Fwd Win Byts", "Fwd Act Data Pkts",
         "Fwd Seg Size Min", "Label"]
H2021 = ["id", "Flow ID", "Src IP", "Src Port", "Dst IP", "Dst Port", "Protocol", "Timestamp",
         "Flow Duration", "Total Fwd Packet", "Total Bwd packets", "Total Length of Fwd Packet",
         "Total Length of Bwd Packet", "Fwd Packet Length Max", "Fwd Packet Length Min",
         "Fwd Packet Length Mean", "Fwd Packet Length Std", "Flow Bytes/s", "Flow Packets/s",
         "Fwd IAT Total", "Fwd IAT Mean", "Fwd IAT Std", "Fwd IAT Max", "Fwd IAT Min",
         "Fwd PSH Flags", "Fwd URG Flags", "Fwd RST Flags", "Fwd Header Length",
         "Bwd Header Length", "Fwd Packets/s", "Fwd Segment Size Avg", "Subflow Fwd Packets",
         "Subflow Fwd Bytes", "FWD Init Win Bytes", "Fwd Act Data Pkts", "Fwd Seg Size Min",
         "Label", "Attempted Category"]
def flow(rnd, i, udp_ok):
    attack = i % 3 == 0
    udp = udp_ok and i % 2 == 1
    big = i % 30 == 0
    pk = 9 if big else rnd.randint(2, 8)
    lmax = rnd.randint(900, 1400) if attack else rnd.randint(40, 300)
    lmin = rnd.randint(0, 40)
    lens = [lmin] + [rnd.randint(lmin, lmax) for _ in range(pk - 2)] + [lmax]
    iat_max = 900000 if big else rnd.randint(200000, 899999) if attack else rnd.randint(10, 5000)
    iats = [rnd.randint(1, iat_max) for _ in range(pk - 2)] + [iat_max]
    dur = sum(iats)
    hdr = (8 if udp else 20) * pk
    mean = sum(lens) / pk
    std = (sum((v - mean) ** 2 for v in lens) / pk) ** 0.5
    port = (161 if attack else 53) if udp else (80 if attack else 443)
    return {
        "attack": attack, "udp": udp, "port": port, "dur": dur, "fpk": pk, "bpk": pk - 1,
        "fby": sum(lens), "bby": 3 * sum(lens), "lmax": lmax, "lmin": lmin,
        "lmean": "%.6f" % mean, "lstd": "%.6f" % std, "bps": "%.4f" % (sum(lens) * 1e6 / dur),
        "pps_flow": "%.4f" % (pk * 2e6 / dur), "iat_tot": dur, "iat_mean": "%.3f" % (dur / (pk - 1)),
        "iat_std": "%.3f" % (rnd.random() * iat_max), "iat_max": iat_max, "iat_min": min(iats),
        "psh": rnd.randint(0, 1), "urg": 0, "fhdr": hdr, "bhdr": hdr, "fpps": "%.6f" % (pk * 1e6 / dur),
        "seg_avg": "%.6f" % max(0.0, mean - hdr / pk), "sub_pk": pk, "sub_by": sum(lens),
        "win": rnd.choice([-1, 8192, 29200]), "act": pk - 2, "seg_min": 8 if udp else 20,
    }


def quirks(i, row, dialect):
    """The artefacts of the real files, at fixed rows."""
    if i == 7:
        row["fpps"] = "Infinity"          # zero-duration flow
    if i == 8:
        row["bps"] = "NaN"                # NaN in a column no model here reads
    if i == 11:
        row["fhdr"] = -25216              # CICFlowMeter's header-length overflow
    if i == 13 and dialect != "cic2018":
        row["fpps"] = "NaN"
    return row


def main():
    dialect, out = sys.argv[1], sys.argv[2]
    rnd = random.Random({"cic2017": 17, "cic2018": 18, "cic2021": 21}[dialect])
    n = 300
    lines = []
    if dialect == "cic2017":
        header = [" " + h if k % 2 == 0 else h for k, h in enumerate(H2017)]  # leading spaces
        names = ["port", "dur", "fpk", "bpk", "fby", "bby", "lmax", "lmin", "lmean", "lstd", "bps",
                 "pps_flow", "iat_tot", "iat_mean", "iat_std", "iat_max", "iat_min", "psh", "urg",
                 "fhdr", "bhdr", "fpps", "seg_avg", "fhdr_copy", "sub_pk", "sub_by", "win", "act",
                 "seg_min"]
    elif dialect == "cic2018":
        header = list(H2018)
        names = ["port", "proto", "ts", "dur", "fpk", "bpk", "fby", "bby", "lmax", "lmin", "lmean",
                 "lstd", "bps", "pps_flow", "iat_tot", "iat_mean", "iat_std", "iat_max", "iat_min",
                 "psh", "urg", "fhdr", "bhdr", "fpps", "seg_avg", "sub_pk", "sub_by", "win", "act",
                 "seg_min"]
    else:
        header = list(H2021)
        names = ["id", "fid", "src", "sport", "dst", "port", "proto", "ts", "dur", "fpk", "bpk", "fby",
                 "bby", "lmax", "lmin", "lmean", "lstd", "bps", "pps_flow", "iat_tot", "iat_mean",
                 "iat_std", "iat_max", "iat_min", "psh", "urg", "rst", "fhdr", "bhdr", "fpps",
                 "seg_avg", "sub_pk", "sub_by", "win", "act", "seg_min"]
    assert len(names) == len(header) - (1 if dialect != "cic2021" else 2), dialect
    lines.append(",".join(header).encode())
    for i in range(n):
        r = quirks(i, flow(rnd, i, dialect != "cic2017"), dialect)
        r["fhdr_copy"] = (r["fhdr"] if isinstance(r["fhdr"], int) else 0) + 999
        r["proto"] = 17 if r["udp"] else 6
        if dialect == "cic2018" and i % 50 == 24:
            r["proto"], r["port"] = 0, 0      # CSE-CIC-IDS2018's protocol-0 flows
        r["ts"] = "14/02/2018 08:%02d:%02d" % (i // 60 % 60, i % 60)
        r["id"] = i + 1
        r["src"], r["dst"] = "172.16.0.%d" % (i % 200 + 1), "192.168.10.50"
        r["sport"] = 40000 + i
        r["fid"] = "%s-%s-%d-%d-%d" % (r["dst"], r["src"], r["port"], r["sport"], r["proto"])
        r["rst"] = 0
        cells = [str(r[k]).encode() for k in names]
        if dialect == "cic2017":
            label = (b"Web Attack \x96 Brute Force" if i % 2 else b"DDoS") if r["attack"] else b"BENIGN"
        elif dialect == "cic2018":
            label = (b"DDOS attack-LOIC-UDP" if r["udp"] else b"FTP-BruteForce") if r["attack"] \
                else b"Benign"
        else:
            base = b"DoS Hulk" if i % 2 else b"Web Attack - Brute Force"
            label = (base + b" - Attempted" if i % 9 == 3 else base) if r["attack"] else b"BENIGN"
        tail = [label]
        if dialect == "cic2021":
            tail.append(b"1" if label.endswith(b"Attempted") else b"-1")
        lines.append(b",".join(cells + tail))
        if dialect == "cic2018" and i in (99, 199):
            lines.append(",".join(header).encode())   # the next day file's header
    if dialect == "cic2018":
        lines.append(b"")                               # a blank line at the end
    with open(out, "wb") as f:
        f.write(b"\r\n".join(lines) if dialect == "cic2021" else b"\n".join(lines))
        f.write(b"\n")


if __name__ == "__main__":
    main()
