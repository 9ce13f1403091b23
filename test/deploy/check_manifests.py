#!/usr/bin/env python3
"""Validates deploy/kubernetes/ without a cluster: the YAML parses; the
DaemonSet has what docs/deploy.md promises (host network, the BPF
capabilities and nothing else, /sys/fs/bpf from the host, the model from a
ConfigMap with watch-model, Prometheus annotations matching the metrics
address); its nnbpf configuration passes nnbpf's own configuration check
(keys and values); the Containerfile installs the .deb tools/package.sh
writes and runs the binary. Usage: check_manifests.py SOURCE_DIR NNBPF"""
import os
import re
import subprocess
import sys
import tempfile

import yaml

src, nnbpf = sys.argv[1], sys.argv[2]
kdir = os.path.join(src, "deploy", "kubernetes")
errors = []


def check(cond, what):
    if not cond:
        errors.append(what)


docs = [d for d in yaml.safe_load_all(open(os.path.join(kdir, "nnbpf-daemonset.yaml"))) if d]
by_kind = {}
for d in docs:
    check("apiVersion" in d and "kind" in d and "name" in d.get("metadata", {}), f"object without apiVersion/kind/name: {d}")
    by_kind.setdefault(d["kind"], []).append(d)
ds = by_kind["DaemonSet"][0]
cms = {c["metadata"]["name"]: c for c in by_kind["ConfigMap"]}
spec = ds["spec"]
tmpl = spec["template"]
pod = tmpl["spec"]
check(spec["selector"]["matchLabels"].items() <= tmpl["metadata"]["labels"].items(), "selector does not match the pod labels")
check(pod.get("hostNetwork") is True, "hostNetwork is not true")
c = pod["containers"][0]
sc = c["securityContext"]
caps = sc["capabilities"]
check(set(caps["add"]) >= {"BPF", "NET_ADMIN", "PERFMON"}, f"capabilities {caps['add']}")
check(caps.get("drop") == ["ALL"], "capabilities not dropped to the added ones")
check(sc.get("privileged") is False and sc.get("allowPrivilegeEscalation") is False, "privileged or escalation allowed")
vols = {v["name"]: v for v in pod["volumes"]}
mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
check("/sys/fs/bpf" in mounts and vols[mounts["/sys/fs/bpf"]["name"]].get("hostPath", {}).get("path") == "/sys/fs/bpf",
      "/sys/fs/bpf is not the host's")
cmd = c["command"]
check(cmd[:2] == ["/usr/bin/nnbpf", "run"], f"command {cmd}")
conf_path = cmd[cmd.index("--config") + 1]
conf_mount = max((m for m in mounts if conf_path.startswith(m + "/")), key=len)
conf_vol = vols[mounts[conf_mount]["name"]]
conf_cm = cms[conf_vol["configMap"]["name"]]
conf_text = conf_cm["data"][os.path.relpath(conf_path, conf_mount)]
conf = dict(re.match(r"\s*([\w-]+)\s*=\s*(.*?)\s*$", l).groups() for l in conf_text.splitlines() if l.strip() and not l.strip().startswith("#"))
check(conf.get("watch-model") == "true", "watch-model is not on")
model_mount = max((m for m in mounts if conf["model"].startswith(m + "/")), key=len)
check("configMap" in vols[mounts[model_mount]["name"]], "the model does not come from a ConfigMap")
check(vols[mounts[model_mount]["name"]]["configMap"]["name"] in cms, "the model's ConfigMap is not in the manifest")
ann = tmpl["metadata"]["annotations"]
port = conf["metrics-addr"].rsplit(":", 1)[1]
check(ann.get("prometheus.io/scrape") == "true" and ann.get("prometheus.io/port") == port and ann.get("prometheus.io/path") == "/metrics",
      f"Prometheus annotations {ann} vs metrics-addr {conf['metrics-addr']}")
check(any(p["containerPort"] == int(port) for p in c["ports"]), "metrics port not declared")
check(not conf["metrics-addr"].startswith("127."), "metrics only on loopback: Prometheus cannot scrape the pod")

# The configuration through nnbpf's own check: every key and value must be
# accepted; the run then stops at the (absent) model file, before attaching.
with tempfile.TemporaryDirectory() as tmp:
    p = os.path.join(tmp, "nnbpf.conf")
    open(p, "w").write(conf_text.replace(conf["model"], os.path.join(tmp, "absent.onnx")))
    r = subprocess.run([nnbpf, "run", "--iface", "lo", "--config", p], capture_output=True, text=True, timeout=60)
    check(r.returncode == 2 and "absent.onnx: no such model" in r.stderr and "nnbpf.conf:" not in r.stderr,
          f"nnbpf rejects the DaemonSet's configuration: {r.stderr.strip()}")

cf = open(os.path.join(kdir, "Containerfile")).read()
check(re.search(r"^FROM \S*debian:bookworm", cf, re.M), "Containerfile is not based on Debian bookworm")
check(re.search(r"^COPY nnbpf_\*\.deb ", cf, re.M), "Containerfile does not copy the .deb")
check(re.search(r"apt-get install .*nnbpf_\*\.deb", cf), "Containerfile does not install the .deb with apt-get")
check("nnbpf --version" in cf, "Containerfile does not run the installed binary")
pk = open(os.path.join(src, "tools", "package.sh")).read()
check("nnbpf_*.deb" in pk, "tools/package.sh output name differs from the Containerfile's")

for e in errors:
    print("FAIL:", e)
if errors:
    sys.exit(1)
print(f"manifests: PASS ({len(docs)} objects; DaemonSet caps {caps['add']}, metrics :{port}, config keys {sorted(conf)})")
