#!/usr/bin/python3
"""manifest_schema.py NNBPF FIXTURES_DIR SOURCE_DIR CAPTURE_MANIFEST_BIN

Compiles every bundled model (examples/models/*.onnx) and every generated
fixture that quantizes, plus variants that reach the manifest's other
branches (int8, a failed agreement gate compiled anyway, calibration rows,
forced b, --clamp given, --protocols, stage splitting, BPF v3) and the
capture pipeline's manifest, and validates each against
docs/manifest.schema.json with nnbpf_manifest. Then checks that a manifest
with a wrong type, a missing key and an unknown key is each rejected with
the key named. No root needed."""

import concurrent.futures
import copy
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

import nnbpf_manifest as nm

# Fixtures the test does not compile: bad_* are refused on purpose
# (test/lit); std_*_only are front-end fixtures (test/unit/frontend_test.cc)
# that do not quantize; mlp_24_128_128_128_2 takes 30-90 s to compile and
# writes nothing another MLP does not (stage splitting is covered below).
SKIP_PREFIX = ("bad_", "std_div_only", "std_mul_only", "std_sub_only", "mlp_24_128_128_128_2")


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    nnbpf, fixtures, src, capture_bin = sys.argv[1:5]
    t0 = time.time()
    top6 = os.path.join(src, "examples", "models", "nnbpf-repro-top6.onnx")
    fid = os.path.join(fixtures, "fid_bias")
    jobs = []  # (name, onnx, extra args)
    models = sorted(glob.glob(os.path.join(src, "examples", "models", "*.onnx")))
    models += sorted(f for f in glob.glob(os.path.join(fixtures, "*.onnx"))
                     if not os.path.basename(f).startswith(SKIP_PREFIX))
    if len(models) < 40:
        fail("only %d models found under %s and %s/examples/models" % (len(models), fixtures, src))
    for f in models:
        jobs.append((os.path.basename(f)[:-5], f, []))
    jobs += [
        ("top6-int8-disagree", top6, ["--quant", "int8", "--allow-disagreement"]),
        ("linear_multi3-int8", os.path.join(fixtures, "linear_multi3.onnx"), ["--quant", "int8"]),
        ("fid_bias-calibration", fid + ".onnx", ["--calibration", fid + ".data.csv"]),
        ("fid_bias-int8-calibration", fid + ".onnx",
         ["--quant", "int8", "--calibration", fid + ".data.csv", "--allow-disagreement"]),
        ("top6-forced-b", top6, ["--scale-bits", "12"]),
        ("top6-clamp-given", top6, ["--clamp", "given"]),
        ("top6-protocols", top6, ["--protocols", "udp,tcp"]),
        ("top6-split", top6, ["--max-stage-insns", "1500"]),
        ("top6-v3", top6, ["--bpf-isa", "v3"]),
    ]
    with tempfile.TemporaryDirectory(prefix="nnbpf-manifest-schema.") as work:
        def compile_one(job):
            name, onnx, extra = job
            out = os.path.join(work, name)
            t = time.time()
            r = subprocess.run([nnbpf, "compile", onnx, "-o", out] + extra, capture_output=True, text=True)
            if r.returncode != 0:
                return name, "compile exit %d: %s" % (r.returncode, r.stderr.strip().splitlines()[-1:])
            try:
                nm.load(out)
            except nm.ManifestError as e:
                return name, str(e)
            times[name] = time.time() - t
            return name, None

        times = {}
        seen = {"kind": set(), "mode": set(), "sampled": set(), "passed": set(), "protocols": set(),
                "min_margin": set(), "stages": set()}
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            for name, err in pool.map(compile_one, jobs):
                if err:
                    fail("%s: %s" % (name, err))
                m = nm.load(os.path.join(work, name))
                seen["kind"].add(m["kind"])
                seen["mode"].add(m["quant"]["mode"])
                seen["sampled"].add(m["agreement"]["sampled"])
                seen["passed"].add(m["agreement"]["passed"])
                seen["protocols"].add(m["protocols"] is not None)
                seen["min_margin"].add(m["min_margin"] is not None)
                seen["stages"].add(len(m["stages"]) > 1)

        r = subprocess.run([capture_bin], capture_output=True, text=True)
        if r.returncode != 0:
            fail("capture pipeline: " + r.stderr.strip())
        cap = os.path.join(work, "capture.json")
        with open(cap, "w") as f:
            f.write(r.stdout)
        try:
            m = nm.load(cap)
        except nm.ManifestError as e:
            fail("capture pipeline: " + str(e))
        if m["layers"] or m["stages"] or "agreement" in m:
            fail("capture pipeline: expected no layers, stages or agreement")

        # every branch of the schema was reached by some manifest
        for k, want in (("kind", {"mlp", "tree"}), ("mode", {"int32", "int8", "tree"})):
            if seen[k] != want:
                fail("%s seen: %s, expected %s" % (k, sorted(seen[k]), sorted(want)))
        for k in ("sampled", "passed", "protocols", "min_margin", "stages"):
            if seen[k] != {True, False}:
                fail("%s: only %s seen among the manifests" % (k, seen[k]))

        # negative cases: the key is named
        good = nm.load(os.path.join(work, "fid_bias"))
        cases = []
        m = copy.deepcopy(good)
        m["quant"]["b"] = "20"
        cases.append(("wrong type", m, "quant.b: '20' is not of type 'integer'"))
        m = copy.deepcopy(good)
        m["stages"][0]["est_insns"] = -1
        cases.append(("out of range", m, "stages[0].est_insns: -1 is less than the minimum of 0"))
        m = copy.deepcopy(good)
        del m["features"]
        cases.append(("missing key", m, "'features' is a required property"))
        m = copy.deepcopy(good)
        m["inputs"][0]["scale"] = 1
        cases.append(("unknown key", m, "inputs[0]: Additional properties are not allowed ('scale' was unexpected)"))
        m = copy.deepcopy(good)
        m["quant"]["mode"] = "int8"
        cases.append(("int8 without quant.int8", m, "quant: 'int8' is a required property"))
        m = copy.deepcopy(good)
        m["quant"]["int8"] = {}
        cases.append(("quant.int8 on an int32 model", m, "quant.int8: not allowed here"))
        m = copy.deepcopy(good)
        m["protocols"] = ["icmp"]
        cases.append(("unknown protocol", m, "protocols[0]: 'icmp' is not one of ['tcp', 'udp']"))
        for what, m, want in cases:
            path = os.path.join(work, "bad.json")
            with open(path, "w") as f:
                json.dump(m, f)
            try:
                nm.load(path)
                fail("%s: accepted" % what)
            except nm.ManifestError as e:
                if want not in str(e) or not str(e).startswith(path + ": "):
                    fail("%s: message %r does not say %r" % (what, str(e), want))
        # the command form: one line, exit 2
        r = subprocess.run([sys.executable, nm.__file__, path], capture_output=True, text=True)
        if r.returncode != 2 or len(r.stderr.splitlines()) != 1:
            fail("nnbpf_manifest.py on a bad manifest: exit %d, stderr %r" % (r.returncode, r.stderr))
    slow = sorted(times, key=times.get, reverse=True)[:3]
    print("manifest_schema: PASS (%d manifests + capture valid, %d bad ones rejected, %.0f s; slowest: %s)"
          % (len(jobs), len(cases), time.time() - t0, ", ".join("%s %.1f s" % (n, times[n]) for n in slow)))


if __name__ == "__main__":
    main()
