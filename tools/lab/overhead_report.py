#!/usr/bin/python3
"""Summarize tools/lab/overhead.sh measurements: medians per flow count,
W (nnbpf attached) vs WO (not attached), the kernel's BPF accounting (FEPP,
IPF, CPU share), with E (an empty XDP program attached) as the cost of
attaching XDP at all; writes overhead.csv, overhead.md and overhead.png to --out.

  overhead_report.py --runs overhead_runs.csv --bpf overhead_bpf.csv --out DIR
  overhead_report.py --accounting PROGS.json EVENTS.jsonl N SECONDS
      one overhead_bpf.csv row from `nnbpf stats --programs --json` and the
      events of `nnbpf run --json` of one accounting run
"""
import argparse
import csv
import json
import os
import statistics
import sys


def fail(msg):
    sys.stderr.write("overhead_report.py: error: %s\n" % msg)
    sys.exit(2)


def read_csv(path):
    try:
        with open(path, newline="") as f:
            return list(csv.DictReader(f))
    except OSError as e:
        fail("%s: %s" % (path, e.strerror))


def accounting_row(progs, events, n, secs):
    try:
        j = json.load(open(progs))
        ev = [json.loads(line) for line in open(events) if line.strip()]
    except (OSError, ValueError) as e:
        fail("accounting: %s" % e)
    verdicts = [e for e in ev if e.get("event") == "verdict"]
    inf = [e["ns_infer"] for e in verdicts]
    ext = [e["ns_extract"] for e in verdicts]
    print("%s,%s,%d,%.1f,%.1f,%.1f,%d,%d,%d,%s,%s,%d,%d" % (
        n, secs, j["packets"], j["ns_per_packet"], j["fepp_ns"], j["ipf_ns"], j["inferences_in_packets"],
        j["bpf_run_time_ns"], os.cpu_count(), statistics.median(inf) if inf else "",
        statistics.median(ext) if ext else "", len(verdicts), sum(1 for e in verdicts if e["verdict"])))


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "--accounting":
        return accounting_row(*sys.argv[2:])
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", required=True)
    ap.add_argument("--bpf", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--mb", type=int, default=10)
    ap.add_argument("--mode", default="native")
    ap.add_argument("--command", default="tools/lab/overhead.sh")
    ap.add_argument("--load", default="", help="load averages at start and end, for the note")
    a = ap.parse_args()

    runs = read_csv(a.runs)
    bpf = {int(r["n_flows"]): r for r in read_csv(a.bpf)}
    if not runs:
        fail("%s: no measurements" % a.runs)
    ns = sorted({int(r["n_flows"]) for r in runs})
    rows = []
    for n in ns:
        t = {c: [float(r["seconds"]) for r in runs if int(r["n_flows"]) == n and r["cond"] == c]
             for c in ("W", "WO", "E")}
        if not t["W"] or not t["WO"] or not t["E"]:
            fail("N=%d: W, WO and E measurements are all needed" % n)
        w, wo, e = statistics.median(t["W"]), statistics.median(t["WO"]), statistics.median(t["E"])
        row = {
            "n_flows": n, "reps": len(t["W"]),
            "wo_s_median": wo, "e_s_median": e, "w_s_median": w,
            "wo_s_min": min(t["WO"]), "wo_s_max": max(t["WO"]),
            "e_s_min": min(t["E"]), "e_s_max": max(t["E"]),
            "w_s_min": min(t["W"]), "w_s_max": max(t["W"]),
            "overhead_pct": 100.0 * (w / wo - 1.0),
            "overhead_vs_empty_pct": 100.0 * (w / e - 1.0),
        }
        b = bpf.get(n)
        if b:
            secs, cpus = float(b["seconds"]), int(b["cpus"])
            row.update({
                "packets": int(b["packets"]), "ns_per_packet": float(b["ns_per_packet"]),
                "fepp_ns": float(b["fepp_ns"]), "ipf_ns": float(b["ipf_ns"]),
                "inferences": int(b["inferences"]),
                "flows_classified": int(b["flows_classified"]), "flows_flagged": int(b["flows_flagged"]),
                "infer_ns_median": float(b["infer_ns_median"]) if b.get("infer_ns_median") else None,
                "extract_ns_median": float(b["extract_ns_median"]) if b.get("extract_ns_median") else None,
                "bpf_cpu_pct": 100.0 * int(b["bpf_run_time_ns"]) / (secs * 1e9 * cpus) if secs > 0 else 0.0,
                "cpus": cpus,
            })
        rows.append(row)

    os.makedirs(a.out, exist_ok=True)
    keys = ["n_flows", "reps", "wo_s_median", "e_s_median", "w_s_median", "overhead_pct", "overhead_vs_empty_pct",
            "wo_s_min", "wo_s_max", "e_s_min", "e_s_max", "w_s_min", "w_s_max", "packets", "ns_per_packet",
            "fepp_ns", "ipf_ns", "inferences", "infer_ns_median", "extract_ns_median", "flows_classified",
            "flows_flagged", "bpf_cpu_pct", "cpus"]
    with open(os.path.join(a.out, "overhead.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: (round(v, 6) if isinstance(v, float) else ("" if v is None else v)) for k, v in r.items()})

    md = ["| flows | WO s | E s (empty XDP) | W s (nnbpf) | W vs WO | W vs E | FEPP ns | IPF ns (mean) "
          "| infer ns (median) | BPF CPU % | flagged / classified |",
          "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]

    def fmt(r, k, f="%.0f"):
        return f % r[k] if r.get(k) is not None else "-"
    for r in rows:
        md.append("| %d | %.3f | %.3f | %.3f | %+.1f %% | %+.1f %% | %s | %s | %s | %s | %s / %s |" % (
            r["n_flows"], r["wo_s_median"], r["e_s_median"], r["w_s_median"], r["overhead_pct"],
            r["overhead_vs_empty_pct"], fmt(r, "fepp_ns"), fmt(r, "ipf_ns"), fmt(r, "infer_ns_median"),
            fmt(r, "bpf_cpu_pct", "%.2f"), fmt(r, "flows_flagged", "%d"), fmt(r, "flows_classified", "%d")))
    reps = rows[0]["reps"]
    note = ("%d MB per iperf3 TCP flow, N concurrent flows (iperf3 -P N -n N*%dMB), %s XDP on a veth pair; "
            "medians of %d repetition(s), WO (nothing attached), E (empty XDP program) and W (nnbpf) "
            "interleaved; nnbpf run --monitor with the bundled "
            "[6,32,32,2] model. FEPP, IPF (mean over the inferences packets started) and BPF CPU share "
            "(of all %s CPUs) from one extra W run per N with bpf_stats on (nnbpf stats --programs); "
            "infer ns = median ns_infer of that run's verdict events (idle-swept flows included); flagged / "
            "classified = that run's intrusion verdicts / verdicts. Command: `%s`.%s"
            % (a.mb, a.mb, a.mode, reps, rows[0].get("cpus", "?"), a.command,
               " Load average (1, 5, 15 min) at start and end: %s." % a.load if a.load else ""))
    with open(os.path.join(a.out, "overhead.md"), "w") as f:
        f.write("\n".join(md) + "\n\n" + note + "\n")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    x = [r["n_flows"] for r in rows]
    for cond, key, color in (("WO (nothing attached)", "wo", "tab:blue"), ("E (empty XDP program)", "e", "tab:orange"),
                             ("W (nnbpf attached)", "w", "tab:red")):
        med = [r[key + "_s_median"] for r in rows]
        lo = [m - r[key + "_s_min"] for m, r in zip(med, rows)]
        hi = [r[key + "_s_max"] - m for m, r in zip(med, rows)]
        ax1.errorbar(x, med, yerr=[lo, hi], marker="o", capsize=3, label=cond, color=color)
    ax1.set_xscale("log", base=2)
    ax1.set_yscale("log")
    ax1.set_xticks(x)
    ax1.set_xticklabels([str(v) for v in x])
    ax1.set_xlabel("concurrent iperf3 TCP flows (%d MB each)" % a.mb)
    ax1.set_ylabel("transmission time, s (median, min-max)")
    ax1.set_title("Transmission time with and without nnbpf")
    ax1.grid(True, which="both", alpha=0.3)
    ax1.legend()
    xs = list(range(len(x)))
    ax2.bar([i - 0.2 for i in xs], [r["overhead_pct"] for r in rows], width=0.4, color="tab:gray", label="W vs WO")
    ax2.bar([i + 0.2 for i in xs], [r["overhead_vs_empty_pct"] for r in rows], width=0.4, color="tab:purple",
            label="W vs E")
    ax2.set_xticks(xs)
    ax2.set_xticklabels([str(v) for v in x])
    ax2.legend(loc="upper left")
    ax2.axhline(0, color="black", linewidth=0.8)
    ax2.set_xlabel("concurrent flows")
    ax2.set_ylabel("transmission time overhead, %")
    ax2.set_title("Overhead and BPF CPU share")
    if all("bpf_cpu_pct" in r for r in rows):
        ax3 = ax2.twinx()
        ax3.plot(xs, [r["bpf_cpu_pct"] for r in rows], "o-", color="tab:green",
                 label="BPF CPU share")
        ax3.set_ylabel("nnbpf BPF programs, % of CPU time", color="tab:green")
        ax3.set_ylim(bottom=0)
    ax2.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(a.out, "overhead.png"), dpi=120)
    print("\n".join(md))


if __name__ == "__main__":
    main()
