#include "runtime/capture.h"

#include <net/if.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <sstream>

#include "compiler/driver/artifact.h"
#include "compiler/ir/catalog.h"
#include "nnbpf/abi.h"
#include "runtime/daemon.h"
#include "runtime/pins.h"
#include "runtime/pipeline_loader.h"

namespace nnbpf::runtime {

namespace fs = std::filesystem;

namespace {

bool prefix_matches(const LabelRule& r, const uint8_t a[16]) {
  uint32_t full = r.prefixlen / 8, rest = r.prefixlen % 8;
  if (std::memcmp(r.addr, a, full) != 0) return false;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (r.addr[full] & mask) == (a[full] & mask);
}

// Wall clock minus the kernel's monotonic clock (bpf_ktime_get_ns).
int64_t realtime_offset_ns() {
  timespec rt{}, mono{};
  clock_gettime(CLOCK_REALTIME, &rt);
  clock_gettime(CLOCK_MONOTONIC, &mono);
  return (static_cast<int64_t>(rt.tv_sec) - mono.tv_sec) * 1000000000ll + (rt.tv_nsec - mono.tv_nsec);
}

}  // namespace

void Labeler::add(const LabelRule& r) {
  auto it = std::find_if(rules_.begin(), rules_.end(), [&](const LabelRule& o) { return o.prefixlen < r.prefixlen; });
  rules_.insert(it, r);
}

const LabelRule& Labeler::match(const uint8_t addr[16]) const {
  for (const auto& r : rules_)
    if (prefix_matches(r, addr)) return r;
  return default_;
}

Result<Labeler> Labeler::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error::bad_input(path + ": cannot open (" + std::strerror(errno) + ")");
  Labeler l;
  std::map<std::pair<uint32_t, std::string>, int> seen;  // (prefixlen, addr bytes) -> line
  static const std::regex kClass("[A-Za-z0-9_.:+-]+");
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    auto where = path + ":" + std::to_string(n) + ": ";
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream ls(line);
    std::vector<std::string> tok;
    for (std::string t; ls >> t;) tok.push_back(t);
    if (tok.empty()) continue;
    if (tok.size() < 2 || tok.size() > 3)
      return Error::bad_input(where + "expected 'CIDR LABEL [CLASS]', got " + std::to_string(tok.size()) + " fields");
    auto key = parse_cidr(tok[0]);
    if (!key) return Error::bad_input(where + key.error().message);
    if (tok[1] != "0" && tok[1] != "1")
      return Error::bad_input(where + "label '" + tok[1] + "' is not 0 (benign) or 1 (intrusion)");
    LabelRule r;
    nnbpf_lpm_key k;
    std::memcpy(&k, key->data(), sizeof k);
    r.prefixlen = k.prefixlen;
    std::memcpy(r.addr, k.addr.a, 16);
    // Host bits beyond the prefix are ignored when matching; keep them zero.
    for (uint32_t bit = r.prefixlen; bit < 128; ++bit) r.addr[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
    r.label = tok[1] == "1" ? 1 : 0;
    r.cls = tok.size() == 3 ? tok[2] : (r.label ? "intrusion" : "benign");
    if (!std::regex_match(r.cls, kClass))
      return Error::bad_input(where + "class '" + r.cls + "' may use only letters, digits and _ . : + -");
    auto id = std::make_pair(r.prefixlen, std::string(reinterpret_cast<const char*>(r.addr), 16));
    if (auto it = seen.find(id); it != seen.end())
      return Error::bad_input(where + "prefix " + tok[0] + " is already labelled on line " + std::to_string(it->second));
    seen[id] = n;
    l.add(r);
  }
  if (in.bad()) return Error::bad_input(path + ": read error");
  return l;
}

std::string capture_csv_header() {
  std::string h;
  for (const auto& f : feature_catalog()) h += std::string(f.name) + ",";
  return h + "label,class,src,dst,sport,dport,proto,end,ts_ns";
}

namespace {

// One CSV row of a verdict event: the catalog's features, the source's label,
// the flow's key, why it ended, and its end on the wall clock.
std::string capture_csv_row(const nnbpf_event& e, const LabelRule& lab, int64_t realtime_offset_ns) {
  std::string line;
  for (size_t i = 0; i < e.n_features; ++i) line += std::to_string(e.feat[i]) + ",";
  line += std::to_string(lab.label) + "," + lab.cls + "," + format_addr(e.key.src.a) + "," +
          format_addr(e.key.dst.a) + "," + std::to_string(e.key.sport) + "," + std::to_string(e.key.dport) + "," +
          (e.key.proto == 6 ? "tcp" : e.key.proto == 17 ? "udp" : std::to_string(e.key.proto)) + "," +
          reason_name(e.reason) + "," + std::to_string(static_cast<int64_t>(e.ts_ns) + realtime_offset_ns) + "\n";
  return line;
}

// "N flows written to OUT (fin 3, idle 2)".
void print_capture_summary(const std::string& out, uint64_t rows, const std::map<std::string, uint64_t>& by_end) {
  std::cerr << "nnbpf capture: " << rows << " flows written to " << out;
  const char* sep = " (";
  for (const auto& [k, v] : by_end) {
    std::cerr << sep << k << " " << v;
    sep = ", ";
  }
  std::cerr << (by_end.empty() ? "" : ")") << "\n";
}

// nnbpf run's options for the capture pipeline: monitor only, the flows
// still tracked flushed at exit.
RunOptions capture_run_options(const CaptureOptions& o) {
  RunOptions ro;
  ro.iface = o.iface;
  ro.mode = o.mode;
  ro.monitor = true;
  ro.idle_timeout_ns = o.idle_timeout_ns;
  ro.max_flows = o.max_flows;
  ro.duration_s = o.duration_s;
  ro.verbose = o.verbose;
  ro.ready_fd = o.ready_fd;  // signalled by run_artifact once attached
  ro.take_over = false;
  ro.flush_at_exit = true;
  ro.who = "capture";
  return ro;
}

// The capture pipeline, compiled in-process into `dir`.
Result<compiler::Artifact> capture_artifact(const CaptureOptions& o, const std::string& dir) {
  if (!o.compiler.capture) return Error::runtime("capture: no compiler for the capture pipeline");
  NNBPF_CHECK(o.compiler.capture(dir));
  NNBPF_TRY(art, compiler::load_artifact(dir));
  const size_t n_feat = feature_catalog().size();
  if (art.model.features.size() != n_feat || n_feat != NNBPF_MAX_FEATURES)
    return Error::runtime("capture pipeline does not carry the full feature catalog");
  return art;
}

}  // namespace

Status run_capture(const CaptureOptions& o) {
  Labeler labels;
  if (!o.labels.empty()) {
    NNBPF_TRY(l, Labeler::load(o.labels));
    labels = std::move(l);
  }
  if (if_nametoindex(o.iface.c_str()) == 0) return Error::bad_input("interface '" + o.iface + "' does not exist");
  if (!have_bpf_privileges())
    return Error::runtime("attaching XDP programs needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN for bpffs)");

  // The capture pipeline, compiled in-process into a private directory.
  char tmpl[] = "/tmp/nnbpf-capture-XXXXXX";
  if (!mkdtemp(tmpl)) return Error::runtime(std::string("cannot create a temporary directory: ") + std::strerror(errno));
  std::string tmpdir = tmpl;
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{tmpdir};
  NNBPF_TRY(art, capture_artifact(o, tmpdir));
  const size_t n_feat = art.model.features.size();

  std::ofstream out(o.out, std::ios::trunc);
  if (!out) return Error::bad_input(o.out + ": cannot write (" + std::strerror(errno) + ")");
  out << capture_csv_header() << "\n";

  const int64_t offset = realtime_offset_ns();
  std::map<std::string, uint64_t> by_end;
  uint64_t rows = 0;
  bool write_failed = false;
  RunOptions ro = capture_run_options(o);
  ro.on_event = [&](const nnbpf_event& e) {
    if (e.type != NNBPF_EV_VERDICT || e.n_features != n_feat) return;
    out << capture_csv_row(e, labels.match(e.key.src.a), offset);
    if (!out) write_failed = true;
    ++rows;
    ++by_end[reason_name(e.reason)];
  };
  Status st = run_artifact(art, ro);
  out.flush();
  if (!st && rows == 0) {  // nothing was captured: leave no file behind
    out.close();
    std::error_code ec;
    fs::remove(o.out, ec);
    return st;
  }
  if (!out || write_failed) return Error::runtime(o.out + ": write failed");
  print_capture_summary(o.out, rows, by_end);
  return st;
}

}  // namespace nnbpf::runtime
