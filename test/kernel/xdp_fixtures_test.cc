// Kernel fixtures of the XDP pipeline (bpf_rt/progs/xdp.bpf.c): compiled
// objects are loaded with libbpf and driven with BPF_PROG_TEST_RUN on built
// packets; each fixture states the packet, the expected XDP action and the
// expected map state, counters and ring-buffer events (katran lib/testing,
// Cilium bpf/tests PKTGEN/SETUP/CHECK). Logits in events are checked against
// the reference interpreter bit for bit.
//
// Needs root (BPF). Under CI=true a missing privilege fails the test.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "compiler/codegen/params_layout.h"
#include "compiler/driver/pipeline.h"
#include "compiler/interp/reference.h"
#include "nnbpf/abi.h"
#include "runtime/block_gen.h"
#include "runtime/map_iter.h"
#include "runtime/pipeline_loader.h"
#include "runtime/sweep.h"

namespace fs = std::filesystem;
using nnbpf::compiler::Artifact;

namespace {

constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10, kUrg = 0x20;
constexpr uint64_t kSec = 1000000000ULL;

uint64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * kSec + ts.tv_nsec;
}

bool under_ci() {
  const char* ci = std::getenv("CI");
  return ci && std::string(ci) == "true";
}

// ---- packets ----------------------------------------------------------------

using Addr = std::array<uint8_t, 16>;

Addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return Addr{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d};
}

Addr v6(const char* text) {
  Addr a{};
  if (inet_pton(AF_INET6, text, a.data()) != 1) std::abort();
  return a;
}

// One test packet, described by what the parser must see.
struct Pkt {
  int ip = 4;                    // 4, 6, or 0 for ARP
  std::vector<uint16_t> vlans;   // TPIDs, outermost first
  Addr src = v4(10, 0, 0, 1);
  Addr dst = v4(10, 0, 0, 2);
  uint8_t l4 = IPPROTO_TCP;      // TCP, UDP, ICMP, ICMPV6
  uint16_t sport = 40000;
  uint16_t dport = 80;
  uint8_t flags = kAck;
  int tcp_hdr = 20;              // data offset * 4 as written (may be invalid)
  int ihl_bytes = 20;            // IHL * 4 as written (may be invalid)
  uint16_t frag = 0;             // IPv4 flags+offset field; IPv6: fragment offset (8-byte units)
  std::vector<uint8_t> ext;      // IPv6 extension headers, in order
  int payload = 0;
  int ip_len_delta = 0;          // added to the IPv4 total length field
  int truncate = -1;             // cut the frame to this many bytes

  Pkt with_flags(uint8_t f) const {
    Pkt p = *this;
    p.flags = f;
    return p;
  }
  Pkt with_payload(int n) const {
    Pkt p = *this;
    p.payload = n;
    return p;
  }
  int l4_hdr() const { return l4 == IPPROTO_TCP ? tcp_hdr : l4 == IPPROTO_UDP ? 8 : 8; }
  int ext_bytes() const { return static_cast<int>(ext.size()) * 8; }
  // docs/features.md: packet length and header length of this packet.
  uint64_t pkt_len() const { return (ip == 6 ? ext_bytes() : 0) + l4_hdr() + payload; }
  uint64_t hdr_len() const { return l4_hdr(); }
  nnbpf_flow_key key() const {
    nnbpf_flow_key k{};
    std::memcpy(k.src.a, src.data(), 16);
    std::memcpy(k.dst.a, dst.data(), 16);
    k.sport = sport;
    k.dport = dport;
    k.proto = l4;
    return k;
  }
};

void put16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(v >> 8);
  b.push_back(v & 0xff);
}
void put32(std::vector<uint8_t>& b, uint32_t v) {
  put16(b, v >> 16);
  put16(b, v & 0xffff);
}

std::vector<uint8_t> build(const Pkt& p) {
  std::vector<uint8_t> b = {0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1};
  for (uint16_t tpid : p.vlans) {
    put16(b, tpid);
    put16(b, 100);  // TCI: VLAN 100
  }
  put16(b, p.ip == 4 ? 0x0800 : p.ip == 6 ? 0x86dd : 0x0806);
  if (p.ip == 0) {  // ARP request
    const uint8_t arp[28] = {0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2};
    b.insert(b.end(), arp, arp + sizeof arp);
    return b;
  }
  std::vector<uint8_t> l4;
  if (p.l4 == IPPROTO_TCP) {
    put16(l4, p.sport);
    put16(l4, p.dport);
    put32(l4, 1000);  // seq
    put32(l4, 2000);  // ack
    l4.push_back(static_cast<uint8_t>((p.tcp_hdr / 4) << 4));
    l4.push_back(p.flags);
    put16(l4, 512);  // window
    put16(l4, 0);    // checksum (nobody checks it in XDP)
    put16(l4, 0);    // urgent pointer
    for (int i = 20; i < p.tcp_hdr; ++i) l4.push_back(1);  // NOP options
  } else if (p.l4 == IPPROTO_UDP) {
    put16(l4, p.sport);
    put16(l4, p.dport);
    put16(l4, static_cast<uint16_t>(8 + p.payload));
    put16(l4, 0);
  } else {  // ICMP / ICMPv6 echo request
    l4 = {static_cast<uint8_t>(p.l4 == IPPROTO_ICMP ? 8 : 128), 0, 0, 0, 0, 1, 0, 1};
  }
  for (int i = 0; i < p.payload; ++i) l4.push_back(static_cast<uint8_t>('a' + i % 26));

  if (p.ip == 4) {
    int ihl = p.ihl_bytes;
    b.push_back(static_cast<uint8_t>(0x40 | (ihl / 4)));
    b.push_back(0);
    put16(b, static_cast<uint16_t>(std::max(ihl, 20) + l4.size() + p.ip_len_delta));
    put16(b, 1);  // id
    put16(b, p.frag);
    b.push_back(64);
    b.push_back(p.l4);
    put16(b, 0);
    b.insert(b.end(), p.src.begin() + 12, p.src.end());
    b.insert(b.end(), p.dst.begin() + 12, p.dst.end());
    for (int i = 20; i < ihl; ++i) b.push_back(1);  // NOP options
  } else {
    put32(b, 0x60000000);
    put16(b, static_cast<uint16_t>(p.ext_bytes() + l4.size()));
    b.push_back(p.ext.empty() ? p.l4 : p.ext[0]);
    b.push_back(64);
    b.insert(b.end(), p.src.begin(), p.src.end());
    b.insert(b.end(), p.dst.begin(), p.dst.end());
    for (size_t i = 0; i < p.ext.size(); ++i) {
      uint8_t next = i + 1 < p.ext.size() ? p.ext[i + 1] : p.l4;
      if (p.ext[i] == IPPROTO_FRAGMENT) {
        b.push_back(next);
        b.push_back(0);
        put16(b, static_cast<uint16_t>(p.frag << 3 | 1));  // offset, M
        put32(b, 77);
      } else if (p.ext[i] == IPPROTO_ROUTING) {
        const uint8_t rh[8] = {next, 0, 4, 0, 0, 0, 0, 0};  // type 4 (SRH-like), segments left 0
        b.insert(b.end(), rh, rh + 8);
      } else {  // hop-by-hop, destination options: PadN
        const uint8_t oh[8] = {next, 0, 1, 4, 0, 0, 0, 0};
        b.insert(b.end(), oh, oh + 8);
      }
    }
  }
  b.insert(b.end(), l4.begin(), l4.end());
  if (p.truncate >= 0 && static_cast<size_t>(p.truncate) < b.size()) b.resize(p.truncate);
  return b;
}

// ---- compiled models (once per process) ---------------------------------------

class Models : public ::testing::Environment {
 public:
  static constexpr const char* kCapture = "(capture pipeline)";
  static const Artifact& get(const std::string& onnx) {
    static std::map<std::string, Artifact> cache;
    auto it = cache.find(onnx);
    if (it != cache.end()) return it->second;
    std::string dir = root() + "/" + std::to_string(cache.size());
    nnbpf::compiler::CompileOptions opts;
    // kCapture: the model-less pipeline of nnbpf capture.
    auto r = onnx == kCapture ? nnbpf::compiler::compile_capture() : nnbpf::compiler::compile_model(onnx, opts);
    if (!r) throw std::runtime_error("compile " + onnx + ": " + r.error().message);
    auto st = nnbpf::compiler::write_artifact(dir, onnx == kCapture ? "" : onnx, *r);
    if (!st) throw std::runtime_error("write " + dir + ": " + st.error().message);
    auto a = nnbpf::compiler::load_artifact(dir);
    if (!a) throw std::runtime_error("load " + dir + ": " + a.error().message);
    return cache.emplace(onnx, std::move(*a)).first->second;
  }
  void TearDown() override {
    if (!root_.empty()) fs::remove_all(root_);
  }

 private:
  static std::string root() {
    if (root_.empty()) {
      char tmpl[] = "/tmp/nnbpf-xdp-fixtures.XXXXXX";
      root_ = mkdtemp(tmpl);
    }
    return root_;
  }
  static inline std::string root_;
};

const auto* g_env = ::testing::AddGlobalTestEnvironment(new Models);

std::string top6_model() { return std::string(NNBPF_FIXTURES_DIR) + "/mlp_6_32_32_2.onnx"; }
std::string repro_model() { return std::string(NNBPF_SOURCE_DIR) + "/examples/models/nnbpf-repro-top6.onnx"; }
std::string feat24_model() { return std::string(NNBPF_FIXTURES_DIR) + "/feat24_tiny.onnx"; }
std::string capture_pipeline() { return Models::kCapture; }

// ---- a loaded pipeline -----------------------------------------------------------

struct LoadOpts {
  uint32_t every_packets = 0;
  uint32_t monitor = 0;
  uint64_t block_ttl_ns = 300 * kSec;
  uint32_t max_flows = 0;  // 0: the object's default
  bool wire_chain = true;   // stages in nnbpf_progs
  bool wire_finish = true;  // finish programs in nnbpf_progs
  // Evidence policy (the object's defaults: block on the first verdict).
  uint64_t window_ns = 10 * kSec;
  uint32_t block_after = 1;
  uint32_t min_share_milli = 0;
  uint32_t prefix_v4 = 32;
  uint32_t prefix_v6 = 128;
  uint64_t block_ttl_max_ns = 0;
  uint32_t abstain = 0;
};

// One loaded pipeline: the runtime's loader (runtime/pipeline_loader.h, as
// run, bench and check load), plus the test's view of its programs and maps.
class Pipeline {
 public:
  ~Pipeline() {
    if (rb_) ring_buffer__free(rb_);
  }

  // Empty string on success, else what failed.
  std::string load(const Artifact& a, const LoadOpts& o) {
    art_ = &a;
    nnbpf::runtime::LoadOptions lo;
    lo.max_flows = o.max_flows;
    lo.edit_config = [&o](nnbpf_config& cfg) {
      EXPECT_EQ(cfg.block_ttl_ns, 300 * kSec) << "default block TTL";
      EXPECT_EQ(cfg.every_packets, 0u);
      EXPECT_EQ(cfg.monitor, 0u);
      EXPECT_EQ(cfg.block_after, 1u) << "the object's default blocks on the first verdict";
      EXPECT_EQ(cfg.min_share_milli, 0u);
      EXPECT_EQ(cfg.prefix_v4, 32u);
      EXPECT_EQ(cfg.prefix_v6, 128u);
      cfg.block_ttl_ns = o.block_ttl_ns;
      cfg.every_packets = o.every_packets;
      cfg.monitor = o.monitor;
      cfg.window_ns = o.window_ns;
      cfg.block_after = o.block_after;
      cfg.min_share_milli = o.min_share_milli;
      cfg.prefix_v4 = o.prefix_v4;
      cfg.prefix_v6 = o.prefix_v6;
      cfg.block_ttl_max_ns = o.block_ttl_max_ns;
      cfg.abstain = o.abstain;
    };
    auto loaded = nnbpf::runtime::LoadedPipeline::load(a, lo);
    if (!loaded) return loaded.error().message;
    lp_ = std::move(*loaded);
    xdp_ = prog(NNBPF_PROG_XDP_NAME);
    sweep_ = prog(NNBPF_PROG_SWEEP_NAME);
    flows_ = map(NNBPF_MAP_FLOWS);
    blocked_ = map(NNBPF_MAP_BLOCKED);
    allow_ = map(NNBPF_MAP_ALLOW);
    stats_ = map(NNBPF_MAP_STATS);
    errors_ = map(NNBPF_MAP_ERRORS);
    params_ = map(NNBPF_MAP_PARAMS);
    if (xdp_ < 0 || sweep_ < 0 || flows_ < 0 || blocked_ < 0 || allow_ < 0 || stats_ < 0 || errors_ < 0)
      return "missing programs or maps";
    // Broken chains on purpose: the loader wired everything; unwire.
    const int progs = map(NNBPF_MAP_PROGS);
    if (!o.wire_chain)
      for (size_t k = 0; k < a.stage_names.size(); ++k) {
        uint32_t slot = NNBPF_PROG_STAGE0 + static_cast<uint32_t>(k);
        if (bpf_map_delete_elem(progs, &slot)) return "unwire " + a.stage_names[k];
      }
    if (!o.wire_finish)
      for (uint32_t slot : {uint32_t{NNBPF_PROG_FINISH_FLOW}, uint32_t{NNBPF_PROG_FINISH_TEST}})
        if (bpf_map_delete_elem(progs, &slot)) return "unwire finish";
    rb_ = ring_buffer__new(map(NNBPF_MAP_EVENTS), on_event, this, nullptr);
    if (!rb_) return "ring_buffer__new";
    return "";
  }

  std::string write_params(const std::vector<uint8_t>& bytes) {
    uint32_t zero = 0;
    if (bpf_map_update_elem(params_, &zero, bytes.data(), BPF_ANY)) return "params slot 0";
    return "";
  }

  // Runs nnbpf_xdp (or `fd`) on one packet; returns the XDP action.
  int run(const std::vector<uint8_t>& pkt, int fd = -1) {
    std::vector<uint8_t> out(pkt.size() + 256);
    LIBBPF_OPTS(bpf_test_run_opts, t);
    t.data_in = pkt.data();
    t.data_size_in = static_cast<__u32>(pkt.size());
    t.data_out = out.data();
    t.data_size_out = static_cast<__u32>(out.size());
    t.repeat = 1;
    if (bpf_prog_test_run_opts(fd < 0 ? xdp_ : fd, &t)) {
      ADD_FAILURE() << "BPF_PROG_TEST_RUN: " << strerror(errno);
      return -1;
    }
    return static_cast<int>(t.retval);
  }
  int run(const Pkt& p) { return run(build(p)); }

  // Mean ns per run over `repeat` runs of the same packet.
  uint64_t time_run(const std::vector<uint8_t>& pkt, int fd, uint32_t repeat) {
    LIBBPF_OPTS(bpf_test_run_opts, t);
    t.data_in = pkt.data();
    t.data_size_in = static_cast<__u32>(pkt.size());
    t.repeat = repeat;
    if (bpf_prog_test_run_opts(fd, &t)) return 0;
    return t.duration;
  }

  int sweep(const nnbpf_flow_key& k, uint32_t reason = NNBPF_END_IDLE, uint32_t magic = NNBPF_SWEEP_MAGIC) {
    nnbpf_sweep_pkt p{};
    p.magic = magic;
    p.reason = reason;
    p.key = k;
    const auto* raw = reinterpret_cast<const uint8_t*>(&p);
    return run(std::vector<uint8_t>(raw, raw + sizeof p), sweep_);
  }

  std::vector<nnbpf_event> events() {
    got_.clear();
    ring_buffer__consume(rb_);
    return got_;
  }

  uint64_t stat(uint32_t idx) const { return nnbpf::runtime::percpu_sum(stats_, idx); }
  uint64_t error(uint32_t idx) const { return nnbpf::runtime::percpu_sum(errors_, idx); }

  bool flow(const nnbpf_flow_key& k, nnbpf_flow_hdr* hdr = nullptr) const {
    std::vector<uint8_t> v(flow_value_size());
    if (bpf_map_lookup_elem(flows_, &k, v.data())) return false;
    if (hdr) std::memcpy(hdr, v.data(), sizeof(*hdr) - sizeof(hdr->pad));
    return true;
  }
  size_t flow_count() const {
    return nnbpf::runtime::for_each_key<nnbpf_flow_key>(flows_, SIZE_MAX, [](const nnbpf_flow_key&) {});
  }
  uint32_t flow_value_size() const { return bpf_map__value_size(bpf_object__find_map_by_name(lp_->object(), NNBPF_MAP_FLOWS)); }

  void block(const Addr& src, uint64_t expires_ns, uint32_t by = NNBPF_BLOCK_BY_USER) {
    nnbpf_block b{};
    b.expires_ns = expires_ns;
    b.added_ns = mono_ns();
    b.by = by;
    ASSERT_EQ(bpf_map_update_elem(blocked_, src.data(), &b, BPF_ANY), 0);
  }
  // The model policy of parameter slot 0 (struct nnbpf_policy).
  void set_policy(const nnbpf_policy& pol) {
    uint32_t zero = 0;
    ASSERT_EQ(bpf_map_update_elem(map(NNBPF_MAP_POLICY), &zero, &pol, BPF_ANY), 0);
  }
  bool evidence(const Addr& prefix, nnbpf_evidence* out = nullptr) const {
    nnbpf_evidence e{};
    if (bpf_map_lookup_elem(map(NNBPF_MAP_EVIDENCE), prefix.data(), &e)) return false;
    if (out) *out = e;
    return true;
  }
  bool blocked(const Addr& src, nnbpf_block* out = nullptr) const {
    nnbpf_block b{};
    if (bpf_map_lookup_elem(blocked_, src.data(), &b)) return false;
    if (out) *out = b;
    return true;
  }
  void allow(const Addr& prefix, uint32_t prefixlen) {
    nnbpf_lpm_key k{};
    k.prefixlen = prefixlen;
    std::memcpy(k.addr.a, prefix.data(), 16);
    uint8_t one = 1;
    ASSERT_EQ(bpf_map_update_elem(allow_, &k, &one, BPF_ANY), 0);
  }

  int prog(const char* name) const {
    return lp_->prog_fd(name);
  }
  int map(const char* name) const { return lp_->map_fd(name); }
  const Artifact& artifact() const { return *art_; }
  bpf_object* object() const { return lp_->object(); }

 private:
  static int on_event(void* ctx, void* data, size_t size) {
    auto* self = static_cast<Pipeline*>(ctx);
    nnbpf_event e{};
    std::memcpy(&e, data, std::min(size, sizeof e));
    EXPECT_EQ(size, sizeof e);
    self->got_.push_back(e);
    return 0;
  }

  const Artifact* art_ = nullptr;
  std::unique_ptr<nnbpf::runtime::LoadedPipeline> lp_;
  ring_buffer* rb_ = nullptr;
  int xdp_ = -1, sweep_ = -1, flows_ = -1, blocked_ = -1, allow_ = -1, stats_ = -1, errors_ = -1, params_ = -1;
  std::vector<nnbpf_event> got_;
};

// ---- helpers for checks -------------------------------------------------------------

bool same_key(const nnbpf_flow_key& a, const nnbpf_flow_key& b) { return std::memcmp(&a, &b, sizeof a) == 0; }

std::vector<uint64_t> features_of(const nnbpf_event& e) { return std::vector<uint64_t>(e.feat, e.feat + e.n_features); }

int feature_index(const Artifact& a, const std::string& name) {
  const auto& f = a.model.features;
  auto it = std::find(f.begin(), f.end(), name);
  return it == f.end() ? -1 : static_cast<int>(it - f.begin());
}

uint64_t feature(const Artifact& a, const nnbpf_event& e, const std::string& name) {
  int i = feature_index(a, name);
  EXPECT_GE(i, 0) << name;
  return i < 0 ? 0 : e.feat[i];
}

// The event's logits and verdict are what the reference interpreter computes
// on the event's features, bit for bit.
void expect_reference(const nnbpf::compiler::QuantModel& m, const nnbpf_event& e) {
  ASSERT_EQ(e.n_features, static_cast<uint32_t>(m.n_inputs()));
  ASSERT_EQ(e.n_outputs, static_cast<uint32_t>(m.n_outputs()));
  auto ref = nnbpf::compiler::run_reference(m, features_of(e));
  for (int i = 0; i < m.n_outputs(); ++i) EXPECT_EQ(e.logits[i], ref.logits[i]) << "logit " << i;
  EXPECT_EQ(e.verdict, ref.verdict);
}

// A copy of the model whose last layer ignores its input and says
// "intrusion" (logit1 > logit0) for everything.
nnbpf::compiler::QuantModel always_intrusion(const nnbpf::compiler::QuantModel& m) {
  auto q = m;
  auto& last = q.layers.back();
  std::fill(last.weight.begin(), last.weight.end(), 0);
  last.bias.assign(last.out, 0);
  last.bias[0] = -(1 << q.b);
  last.bias[1] = 1 << q.b;
  last.has_bias = true;
  return q;
}

// ... and one that says "benign" for everything.
nnbpf::compiler::QuantModel always_benign(const nnbpf::compiler::QuantModel& m) {
  auto q = always_intrusion(m);
  std::swap(q.layers.back().bias[0], q.layers.back().bias[1]);
  return q;
}

class XdpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!nnbpf::runtime::have_bpf_privileges()) {
      if (under_ci()) FAIL() << "kernel fixtures need root/CAP_BPF under CI";
      GTEST_SKIP() << "not root: kernel fixtures skipped";
    }
  }
  std::unique_ptr<Pipeline> load(const std::string& onnx, const LoadOpts& o = {}) {
    auto p = std::make_unique<Pipeline>();
    const Artifact* a = nullptr;
    try {
      a = &Models::get(onnx);
    } catch (const std::exception& ex) {
      ADD_FAILURE() << ex.what();
      return nullptr;
    }
    std::string err = p->load(*a, o);
    if (!err.empty()) {
      ADD_FAILURE() << "loading " << a->object_path << ": " << err;
      return nullptr;
    }
    return p;
  }
};

// ---- parser fixtures ---------------------------------------------------------------------

enum class Kind { Flow, IpOnly, Other };

struct ParseFixture {
  const char* description;
  Pkt pkt;
  Kind kind;
};

std::vector<ParseFixture> parse_fixtures() {
  std::vector<ParseFixture> f;
  Pkt tcp4;
  f.push_back({"IPv4 TCP", tcp4, Kind::Flow});
  {
    Pkt p = tcp4;
    p.ihl_bytes = 32;  // 12 bytes of options
    p.tcp_hdr = 32;
    p.payload = 100;
    f.push_back({"IPv4 TCP with IP options (IHL 8) and TCP options", p, Kind::Flow});
  }
  {
    Pkt p = tcp4;
    p.ihl_bytes = 60;  // the largest IPv4 header
    p.tcp_hdr = 60;
    f.push_back({"IPv4 TCP, IHL 15 and data offset 15", p, Kind::Flow});
  }
  {
    Pkt p = tcp4;
    p.ihl_bytes = 16;
    f.push_back({"IPv4 IHL 4 (malformed)", p, Kind::Other});
  }
  {
    Pkt p = tcp4;
    p.ip_len_delta = -40;
    f.push_back({"IPv4 total length shorter than the header", p, Kind::Other});
  }
  {
    Pkt p = tcp4;
    p.frag = 0x2000;  // MF, offset 0
    p.payload = 200;
    f.push_back({"IPv4 first fragment (MF, offset 0)", p, Kind::Flow});
  }
  {
    Pkt p = tcp4;
    p.frag = 185;  // offset 1480
    f.push_back({"IPv4 non-first fragment", p, Kind::IpOnly});
  }
  {
    Pkt p = tcp4;
    p.tcp_hdr = 16;
    f.push_back({"TCP data offset 4 (malformed)", p, Kind::IpOnly});
  }
  {
    Pkt p = tcp4;
    p.truncate = 14 + 20 + 10;
    f.push_back({"TCP header cut short", p, Kind::IpOnly});
  }
  {
    Pkt p = tcp4;
    p.tcp_hdr = 60;
    p.truncate = 14 + 20 + 40;
    f.push_back({"TCP options run past the packet end", p, Kind::IpOnly});
  }
  {
    Pkt p = tcp4;
    p.l4 = IPPROTO_UDP;
    p.dport = 53;
    p.payload = 33;
    f.push_back({"IPv4 UDP", p, Kind::Flow});
  }
  {
    Pkt p = tcp4;
    p.l4 = IPPROTO_ICMP;
    f.push_back({"IPv4 ICMP", p, Kind::IpOnly});
  }
  {
    Pkt p;
    p.ip = 0;
    f.push_back({"ARP", p, Kind::Other});
  }
  {
    Pkt p = tcp4;
    p.truncate = 14;
    f.push_back({"Ethernet header only (IPv4 EtherType)", p, Kind::Other});
  }
  {
    Pkt p = tcp4;
    p.vlans = {0x8100};
    p.payload = 10;
    f.push_back({"802.1Q VLAN, IPv4 TCP", p, Kind::Flow});
  }
  {
    Pkt p = tcp4;
    p.vlans = {0x88A8, 0x8100};
    p.payload = 10;
    f.push_back({"802.1ad + 802.1Q (QinQ), IPv4 TCP", p, Kind::Flow});
  }
  {
    Pkt p = tcp4;
    p.vlans = {0x88A8, 0x8100, 0x8100};
    f.push_back({"three VLAN tags (more than parsed)", p, Kind::Other});
  }
  Pkt tcp6 = tcp4;
  tcp6.ip = 6;
  tcp6.src = v6("2001:db8::1");
  tcp6.dst = v6("2001:db8::2");
  tcp6.payload = 48;
  f.push_back({"IPv6 TCP", tcp6, Kind::Flow});
  {
    Pkt p = tcp6;
    p.ext = {IPPROTO_HOPOPTS, IPPROTO_DSTOPTS};
    f.push_back({"IPv6 TCP after hop-by-hop and destination options", p, Kind::Flow});
  }
  {
    Pkt p = tcp6;
    p.l4 = IPPROTO_UDP;
    p.dport = 443;
    p.ext = {IPPROTO_ROUTING};
    f.push_back({"IPv6 UDP after a routing header", p, Kind::Flow});
  }
  {
    Pkt p = tcp6;
    p.ext = {IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS, IPPROTO_FRAGMENT};
    f.push_back({"IPv6 TCP after four extension headers, first fragment last", p, Kind::Flow});
  }
  {
    Pkt p = tcp6;
    p.ext = {IPPROTO_FRAGMENT};
    p.frag = 100;
    f.push_back({"IPv6 non-first fragment", p, Kind::IpOnly});
  }
  {
    Pkt p = tcp6;
    p.ext = {IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS, IPPROTO_DSTOPTS};
    f.push_back({"IPv6 with five extension headers (more than skipped)", p, Kind::IpOnly});
  }
  {
    Pkt p = tcp6;
    p.vlans = {0x8100};
    f.push_back({"802.1Q VLAN, IPv6 TCP", p, Kind::Flow});
  }
  {
    Pkt p = tcp6;
    p.l4 = IPPROTO_ICMPV6;
    f.push_back({"ICMPv6", p, Kind::IpOnly});
  }
  return f;
}

TEST_F(XdpTest, ParseFixtures) {
  for (const auto& fx : parse_fixtures()) {
    SCOPED_TRACE(fx.description);
    auto p = load(top6_model());
    ASSERT_TRUE(p);
    const Artifact& a = p->artifact();
    const Pkt& pkt = fx.pkt;

    // The packet passes untouched; a flow packet creates its flow.
    EXPECT_EQ(p->run(pkt), XDP_PASS);
    EXPECT_EQ(p->stat(NNBPF_STAT_PKTS), 1u);
    EXPECT_EQ(p->stat(NNBPF_STAT_PASSED), 1u);
    EXPECT_EQ(p->stat(NNBPF_STAT_NOT_IP), fx.kind == Kind::Flow ? 0u : 1u);
    EXPECT_EQ(p->stat(NNBPF_STAT_FLOWS_NEW), fx.kind == Kind::Flow ? 1u : 0u);
    EXPECT_EQ(p->flow_count(), fx.kind == Kind::Flow ? 1u : 0u);
    EXPECT_TRUE(p->events().empty());

    if (fx.kind == Kind::Flow) {
      nnbpf_flow_hdr h{};
      ASSERT_TRUE(p->flow(pkt.key(), &h)) << "flow key as expected";
      EXPECT_EQ(h.pkts, 1u);
      EXPECT_GT(h.last_ns, 0u);
      EXPECT_LE(h.last_ns, mono_ns());
      // Second packet: TCP ends with FIN, UDP is swept; the event carries
      // this packet's lengths exactly.
      int action;
      if (pkt.l4 == IPPROTO_TCP) {
        action = p->run(pkt.with_flags(kFin | kAck));
      } else {
        EXPECT_EQ(p->run(pkt), XDP_PASS);
        action = p->sweep(pkt.key());
      }
      auto ev = p->events();
      ASSERT_GE(ev.size(), 1u);
      const auto& e = ev[0];
      EXPECT_EQ(action, e.verdict ? XDP_DROP : XDP_PASS) << "an intrusion's source is blocked";
      EXPECT_EQ(ev.size(), e.verdict ? 2u : 1u) << "verdict (+ block) events";
      EXPECT_EQ(e.type, static_cast<uint32_t>(NNBPF_EV_VERDICT));
      EXPECT_EQ(e.reason, static_cast<uint32_t>(pkt.l4 == IPPROTO_TCP ? NNBPF_END_FIN : NNBPF_END_IDLE));
      EXPECT_TRUE(same_key(e.key, pkt.key()));
      EXPECT_EQ(feature(a, e, "fwd_pkt_len_max"), pkt.pkt_len());
      EXPECT_EQ(feature(a, e, "fwd_pkt_len_min"), pkt.pkt_len());
      EXPECT_EQ(feature(a, e, "fwd_header_len"), 2 * pkt.hdr_len());
      EXPECT_EQ(feature(a, e, "fwd_pkt_count"), 2u);
      EXPECT_EQ(feature(a, e, "dst_port"), pkt.dport);
      expect_reference(a.model, e);
      EXPECT_FALSE(p->flow(pkt.key())) << "flow freed at its end";
    }
    if (fx.kind == Kind::IpOnly) {
      // The host filter applies to every IP packet of a blocked source.
      p->block(pkt.src, 0);
      EXPECT_EQ(p->run(pkt), XDP_DROP);
      EXPECT_EQ(p->stat(NNBPF_STAT_DROPPED), 1u);
    }
    for (uint32_t k = 0; k < NNBPF_ERR_MAX; ++k) EXPECT_EQ(p->error(k), 0u) << "error counter " << k;
  }
}

// ---- a whole flow ---------------------------------------------------------------------------

void fin_flow_top6(std::unique_ptr<Pipeline> p) {
  ASSERT_TRUE(p);
  const Artifact& a = p->artifact();
  Pkt base;
  base.src = v4(192, 168, 7, 9);
  base.sport = 51515;
  base.dport = 8080;
  // SYN (options: 40-byte header), three data packets, FIN.
  std::vector<Pkt> pkts;
  Pkt syn = base.with_flags(kSyn);
  syn.tcp_hdr = 40;
  pkts.push_back(syn);
  Pkt data = base.with_flags(kAck | kPsh);
  data.tcp_hdr = 32;
  pkts.push_back(data.with_payload(100));
  pkts.push_back(data.with_payload(1400));
  pkts.push_back(data.with_payload(20));
  pkts.push_back(data.with_flags(kFin | kAck));

  uint64_t t0 = mono_ns();
  int action = -1;
  for (size_t i = 0; i < pkts.size(); ++i) {
    if (i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    action = p->run(pkts[i]);
    if (i + 1 < pkts.size()) {
      EXPECT_EQ(action, XDP_PASS) << "packet " << i;
      nnbpf_flow_hdr h{};
      ASSERT_TRUE(p->flow(base.key(), &h));
      EXPECT_EQ(h.pkts, i + 1);
    }
  }
  uint64_t elapsed = mono_ns() - t0;

  auto ev = p->events();
  ASSERT_GE(ev.size(), 1u);
  const auto& e = ev[0];
  EXPECT_EQ(ev.size(), e.verdict ? 2u : 1u);
  EXPECT_EQ(action, e.verdict ? XDP_DROP : XDP_PASS);
  EXPECT_EQ(e.type, static_cast<uint32_t>(NNBPF_EV_VERDICT));
  EXPECT_EQ(e.reason, static_cast<uint32_t>(NNBPF_END_FIN));
  EXPECT_TRUE(same_key(e.key, base.key()));
  // By hand: packet lengths 40, 132, 1432, 52, 32; header lengths 40 + 4 * 32.
  EXPECT_EQ(feature(a, e, "fwd_pkt_len_max"), 1432u);
  EXPECT_EQ(feature(a, e, "fwd_pkt_len_min"), 32u);
  EXPECT_EQ(feature(a, e, "fwd_header_len"), 168u);
  EXPECT_EQ(feature(a, e, "fwd_pkt_count"), 5u);
  EXPECT_EQ(feature(a, e, "dst_port"), 8080u);
  uint64_t iat = feature(a, e, "fwd_iat_max_ns");
  EXPECT_GE(iat, 2000000u);
  EXPECT_LE(iat, elapsed);
  expect_reference(a.model, e);
  EXPECT_GT(e.infer_ns, 0u);
  EXPECT_LT(e.infer_ns, elapsed);
  EXPECT_LT(e.extract_ns, elapsed);
  EXPECT_GE(e.ts_ns, t0);
  EXPECT_EQ(e.slot, 0u);

  EXPECT_FALSE(p->flow(base.key()));
  EXPECT_EQ(p->stat(NNBPF_STAT_PKTS), 5u);
  EXPECT_EQ(p->stat(NNBPF_STAT_FLOWS_NEW), 1u);
  EXPECT_EQ(p->stat(NNBPF_STAT_FLOWS_ENDED), 1u);
  EXPECT_EQ(p->stat(NNBPF_STAT_INFERENCES), 1u);
  EXPECT_EQ(p->stat(NNBPF_STAT_INTRUSIONS), e.verdict ? 1u : 0u);
  if (e.verdict) {
    EXPECT_EQ(p->stat(NNBPF_STAT_DROPPED), 1u);
    EXPECT_TRUE(p->blocked(base.src));
  } else {
    EXPECT_EQ(p->stat(NNBPF_STAT_PASSED), 5u);
  }
  EXPECT_EQ(p->stat(NNBPF_STAT_EVENTS_LOST), 0u);
  // The inference chain's time, for nnbpf stats --programs: the same clock
  // reads as the event's infer_ns.
  EXPECT_EQ(p->stat(NNBPF_STAT_CHAIN_RUNS), 1u);
  EXPECT_EQ(p->stat(NNBPF_STAT_CHAIN_NS), e.infer_ns);
  for (uint32_t k = 0; k < NNBPF_ERR_MAX; ++k) EXPECT_EQ(p->error(k), 0u) << "error counter " << k;
}

TEST_F(XdpTest, FinFlowFeaturesAndLogits) { fin_flow_top6(load(top6_model())); }

TEST_F(XdpTest, FinFlowFeaturesAndLogitsReproModel) { fin_flow_top6(load(repro_model())); }

// Tests of flow mechanics run in monitor mode, so whatever the model says
// about a flow, no verdict blocks a source the next packets come from.
LoadOpts monitor() {
  LoadOpts o;
  o.monitor = 1;
  return o;
}

TEST_F(XdpTest, RstEndsAFlowAndAOnePacketFlowIsNeverStored) {
  auto p = load(top6_model(), monitor());
  ASSERT_TRUE(p);
  Pkt a;
  a.dport = 22;
  EXPECT_EQ(p->run(a), XDP_PASS);
  EXPECT_EQ(p->run(a.with_flags(kRst)), XDP_PASS);
  Pkt b = a;
  b.sport = 1234;  // a new flow whose first packet is an RST
  EXPECT_EQ(p->run(b.with_flags(kRst | kAck)), XDP_PASS);
  auto ev = p->events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].reason, static_cast<uint32_t>(NNBPF_END_RST));
  EXPECT_EQ(feature(p->artifact(), ev[0], "fwd_pkt_count"), 2u);
  EXPECT_EQ(ev[1].reason, static_cast<uint32_t>(NNBPF_END_RST));
  EXPECT_TRUE(same_key(ev[1].key, b.key()));
  EXPECT_EQ(feature(p->artifact(), ev[1], "fwd_pkt_count"), 1u);
  EXPECT_EQ(feature(p->artifact(), ev[1], "fwd_iat_max_ns"), 0u);
  for (const auto& e : ev) expect_reference(p->artifact().model, e);
  EXPECT_EQ(p->flow_count(), 0u);
  EXPECT_EQ(p->stat(NNBPF_STAT_FLOWS_NEW), 2u);
  EXPECT_EQ(p->stat(NNBPF_STAT_FLOWS_ENDED), 2u);
}

// All 24 catalog features on one designed flow (docs/features.md).
TEST_F(XdpTest, AllCatalogFeatures) {
  auto p = load(feat24_model(), monitor());
  ASSERT_TRUE(p);
  const Artifact& a = p->artifact();
  ASSERT_EQ(a.model.n_inputs(), 24);
  Pkt base;
  base.src = v4(172, 16, 0, 5);
  base.sport = 40001;
  base.dport = 443;
  struct Step {
    uint8_t flags;
    int hdr;
    int payload;
    int sleep_ms;  // before this packet
  };
  const std::vector<Step> steps = {
      {kSyn, 40, 0, 0},          {kAck, 32, 0, 1},       {kAck | kPsh, 32, 100, 1}, {kAck, 32, 200, 1},
      {kAck, 32, 300, 1},        {kAck | kPsh, 32, 400, 1}, {kAck | kUrg, 32, 500, 1}, {kAck, 20, 0, 1},
      {kAck, 20, 10, 1100},      {kAck, 20, 10, 1},      {kAck | kFin, 20, 0, 1},
  };
  uint64_t t_bulk0 = 0, t_bulk1 = 0, t0 = mono_ns();
  for (size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].sleep_ms) std::this_thread::sleep_for(std::chrono::milliseconds(steps[i].sleep_ms));
    Pkt q = base.with_flags(steps[i].flags).with_payload(steps[i].payload);
    q.tcp_hdr = steps[i].hdr;
    if (i == 2) t_bulk0 = mono_ns();
    EXPECT_EQ(p->run(q), XDP_PASS) << "packet " << i;
    if (i == 6) t_bulk1 = mono_ns();
  }
  uint64_t elapsed = mono_ns() - t0;
  auto ev = p->events();
  ASSERT_EQ(ev.size(), 1u);
  const auto& e = ev[0];
  auto f = [&](const char* name) { return feature(a, e, name); };

  // Exact values, computed from the packets.
  uint64_t n = steps.size(), bytes = 0, sq = 0, payload = 0, hdrs = 0, data = 0, lmax = 0, lmin = ~0ULL, hmin = ~0ULL;
  for (const auto& s : steps) {
    uint64_t len = s.hdr + s.payload;
    bytes += len;
    sq += len * len;
    payload += s.payload;
    hdrs += s.hdr;
    data += s.payload > 0;
    lmax = std::max(lmax, len);
    lmin = std::min(lmin, len);
    hmin = std::min<uint64_t>(hmin, s.hdr);
  }
  // floor(sqrt(population variance)), exactly (128-bit).
  unsigned __int128 var_n2 = (unsigned __int128)n * sq - (unsigned __int128)bytes * bytes;
  uint64_t var = static_cast<uint64_t>(var_n2 / ((unsigned __int128)n * n));
  uint64_t std_len = static_cast<uint64_t>(std::sqrt(static_cast<long double>(var)));
  while (std_len * std_len > var) --std_len;
  while ((std_len + 1) * (std_len + 1) <= var) ++std_len;

  EXPECT_EQ(f("dst_port"), 443u);
  EXPECT_EQ(f("fwd_pkt_count"), n);
  EXPECT_EQ(f("fwd_bytes_total"), bytes);
  EXPECT_EQ(f("fwd_pkt_len_max"), lmax);
  EXPECT_EQ(f("fwd_pkt_len_min"), lmin);
  EXPECT_EQ(f("fwd_pkt_len_std"), std_len);
  EXPECT_EQ(f("fwd_pkt_len_mean"), bytes / n);
  EXPECT_EQ(f("fwd_psh_count"), 2u);
  EXPECT_EQ(f("fwd_urg_count"), 1u);
  EXPECT_EQ(f("fwd_header_len"), hdrs);
  EXPECT_EQ(f("fwd_seg_size_avg"), payload / n);
  EXPECT_EQ(f("fwd_bulk_bytes_avg"), 1500u);  // one bulk: packets 3..7
  EXPECT_EQ(f("fwd_bulk_pkts_avg"), 5u);
  EXPECT_EQ(f("subflow_fwd_pkts"), n / 2);  // the 1.1 s gap starts a second subflow
  EXPECT_EQ(f("subflow_fwd_bytes"), bytes / 2);
  EXPECT_EQ(f("fwd_act_data_pkts"), data);
  EXPECT_EQ(f("fwd_seg_size_min"), hmin);

  // Time-based: exact relations between them, bounds from the clock.
  uint64_t total = f("fwd_iat_total_ns");
  EXPECT_GE(total, 1100 * 1000000ULL);
  EXPECT_LE(total, elapsed);
  EXPECT_EQ(f("fwd_iat_mean_ns"), total / (n - 1));
  uint64_t imax = f("fwd_iat_max_ns"), imin = f("fwd_iat_min_ns");
  EXPECT_GE(imax, 1100 * 1000000ULL);
  EXPECT_LE(imax, total);
  EXPECT_LE(imin, 1000000000ULL);
  EXPECT_LE(imin, imax);
  EXPECT_EQ(f("fwd_pkts_per_s"), n * kSec / total);
  // One gap M and nine small ones: std ~ 0.3 M; whole microseconds.
  uint64_t istd = f("fwd_iat_std_ns");
  EXPECT_EQ(istd % 1000, 0u);
  EXPECT_GE(istd, imax * 28 / 100);
  EXPECT_LE(istd, imax * 32 / 100);
  // Bulk time is at most the time between sending its first and last packet.
  uint64_t rate = f("fwd_bulk_rate_bytes_per_s");
  EXPECT_GE(rate, 1500 * kSec / (t_bulk1 - t_bulk0));
  expect_reference(a.model, e);
}

// The capture pipeline (nnbpf capture): no stages; a flow's end goes straight
// to the finish program with verdict 0; the event carries all 24 features in
// catalog order; nothing is ever blocked; an idle flow is flushed by the
// sweep with the reason user space gives (NNBPF_END_EXIT at exit).
TEST_F(XdpTest, CapturePipelineReportsAllFeaturesWithoutAModel) {
  auto p = load(capture_pipeline(), monitor());
  ASSERT_TRUE(p);
  const Artifact& a = p->artifact();
  ASSERT_EQ(a.model.n_inputs(), 24);
  EXPECT_TRUE(a.stage_names.empty());
  EXPECT_TRUE(a.model.layers.empty());
  for (int i = 0; i < 24; ++i) EXPECT_EQ(a.model.feature_ids[i], i);
  Pkt base;
  base.src = v4(172, 16, 0, 9);
  base.sport = 40100;
  base.dport = 8443;
  EXPECT_EQ(p->run(base.with_flags(kSyn)), XDP_PASS);
  EXPECT_EQ(p->run(base.with_flags(kAck | kPsh).with_payload(700)), XDP_PASS);
  EXPECT_EQ(p->run(base.with_flags(kAck | kFin).with_payload(30)), XDP_PASS);
  Pkt u = base;
  u.l4 = IPPROTO_UDP;
  u.sport = 5000;
  EXPECT_EQ(p->run(u.with_payload(64)), XDP_PASS);
  auto ev = p->events();
  ASSERT_EQ(ev.size(), 1u);
  const auto& e = ev[0];
  EXPECT_EQ(e.reason, static_cast<uint32_t>(NNBPF_END_FIN));
  EXPECT_EQ(e.verdict, 0);
  EXPECT_EQ(e.n_features, 24u);
  EXPECT_EQ(e.n_outputs, 0u);
  EXPECT_EQ(e.feat[0], 8443u);                         // dst_port
  EXPECT_EQ(e.feat[1], 3u);                            // fwd_pkt_count
  EXPECT_EQ(e.feat[2], 20u + 720 + 50);                // fwd_bytes_total
  EXPECT_EQ(e.feat[12], 1u);                           // fwd_psh_count
  EXPECT_EQ(e.feat[22], 2u);                           // fwd_act_data_pkts
  ASSERT_EQ(p->sweep(u.key(), NNBPF_END_EXIT), XDP_PASS);
  ev = p->events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].reason, static_cast<uint32_t>(NNBPF_END_EXIT));
  EXPECT_EQ(ev[0].key.proto, IPPROTO_UDP);
  EXPECT_EQ(ev[0].feat[1], 1u);
  EXPECT_EQ(ev[0].feat[14], 8u);                       // fwd_header_len: UDP
  EXPECT_EQ(p->stat(NNBPF_STAT_INFERENCES), 2u);
  EXPECT_EQ(p->stat(NNBPF_STAT_INTRUSIONS), 0u);
  EXPECT_EQ(p->stat(NNBPF_STAT_CHAIN_RUNS), 1u);       // the sweep's is not a packet's
  EXPECT_EQ(p->stat(NNBPF_STAT_PASSED), 4u);
  EXPECT_EQ(p->flow_count(), 0u);
  for (uint32_t k = 0; k < NNBPF_ERR_MAX; ++k) EXPECT_EQ(p->error(k), 0u) << "error counter " << k;
}

// ---- host filter, blocking, allowlist -------------------------------------------------

TEST_F(XdpTest, BlockedSourceIsDroppedAndCounted) {
  auto p = load(top6_model());
  ASSERT_TRUE(p);
  Pkt bad;
  bad.src = v4(203, 0, 113, 66);
  p->block(bad.src, 0);
  EXPECT_EQ(p->run(bad), XDP_DROP);
  EXPECT_EQ(p->run(bad.with_flags(kFin)), XDP_DROP);
  Pkt icmp = bad;
  icmp.l4 = IPPROTO_ICMP;
  EXPECT_EQ(p->run(icmp), XDP_DROP);
  Pkt good;
  EXPECT_EQ(p->run(good), XDP_PASS);
  nnbpf_block b{};
  ASSERT_TRUE(p->blocked(bad.src, &b));
  EXPECT_EQ(b.drops, 3u);
  EXPECT_EQ(p->stat(NNBPF_STAT_DROPPED), 3u);
  EXPECT_EQ(p->stat(NNBPF_STAT_PASSED), 1u);
  EXPECT_EQ(p->stat(NNBPF_STAT_PKTS), 4u);
  EXPECT_FALSE(p->flow(bad.key())) << "no flow state for a blocked source";
  EXPECT_TRUE(p->flow(good.key()));
  EXPECT_TRUE(p->events().empty());

  // IPv6 source.
  Pkt bad6;
  bad6.ip = 6;
  bad6.src = v6("2001:db8:bad::1");
  bad6.dst = v6("2001:db8::2");
  p->block(bad6.src, mono_ns() + 60 * kSec);
  EXPECT_EQ(p->run(bad6), XDP_DROP);
  EXPECT_EQ(p->stat(NNBPF_STAT_DROPPED), 4u);
}

// The host filter skips its lookup only while user space has seen
// nnbpf_blocked empty and nothing was inserted since (runtime/block_gen.h).
TEST_F(XdpTest, HostFilterLookupIsSkippedOnlyWhileNoBlockExists) {
  auto p = load(top6_model());
  ASSERT_TRUE(p);
  auto gen = nnbpf::runtime::BlockGen::map(p->map(NNBPF_MAP_BLOCK_GEN));
  ASSERT_TRUE(gen) << gen.error().message;
  const int blocked_fd = p->map(NNBPF_MAP_BLOCKED);
  Pkt bad;
  bad.src = v4(203, 0, 113, 77);
  // A fresh pipeline looks up: even a block written without a bump is seen.
  p->block(bad.src, 0);
  EXPECT_EQ(p->run(bad), XDP_DROP);
  EXPECT_FALSE(gen->mark_if_empty(blocked_fd)) << "never marked empty while an entry exists";
  EXPECT_EQ(p->run(bad), XDP_DROP);
  // Seen empty: the lookup is skipped, which an insert without a bump shows.
  ASSERT_EQ(bpf_map_delete_elem(blocked_fd, bad.src.data()), 0);
  EXPECT_TRUE(gen->mark_if_empty(blocked_fd));
  p->block(bad.src, 0);
  EXPECT_EQ(p->run(bad), XDP_PASS) << "no lookup while the map was seen empty";
  gen->bump();  // what every user-space insert does after it (nnbpf hosts add)
  EXPECT_EQ(p->run(bad), XDP_DROP) << "looked up again after the bump";
  // The policy's own blocks bump in BPF: the source's next packet is dropped.
  ASSERT_EQ(bpf_map_delete_elem(blocked_fd, bad.src.data()), 0);
  EXPECT_TRUE(gen->mark_if_empty(blocked_fd));
  auto bad_model = always_intrusion(p->artifact().model);
  ASSERT_EQ(p->write_params(nnbpf::compiler::serialize_params(bad_model, 2)), "");
  EXPECT_EQ(p->run(bad.with_flags(kSyn | kFin)), XDP_DROP) << "the intrusion's ending packet";
  EXPECT_TRUE(p->blocked(bad.src));
  Pkt again = bad;
  again.sport = 50001;
  EXPECT_EQ(p->run(again), XDP_DROP) << "a model block turns the lookup on";
  EXPECT_FALSE(gen->mark_if_empty(blocked_fd));
}

TEST_F(XdpTest, ExpiredBlockIsDeletedOnSight) {
  auto p = load(top6_model());
  ASSERT_TRUE(p);
  Pkt pk;
  pk.src = v4(198, 51, 100, 7);
  p->block(pk.src, mono_ns() - 1);
  EXPECT_EQ(p->run(pk), XDP_PASS);
  EXPECT_FALSE(p->blocked(pk.src));
  EXPECT_EQ(p->stat(NNBPF_STAT_EXPIRED), 1u);
  EXPECT_EQ(p->stat(NNBPF_STAT_DROPPED), 0u);
  EXPECT_TRUE(p->flow(pk.key())) << "the packet went on to flow tracking";
}

TEST_F(XdpTest, IntrusionBlocksItsSource) {
  auto p = load(top6_model());
  ASSERT_TRUE(p);
  auto bad_model = always_intrusion(p->artifact().model);
  ASSERT_EQ(p->write_params(nnbpf::compiler::serialize_params(bad_model, 2)), "");
  Pkt pk;
  pk.src = v4(203, 0, 113, 9);
  EXPECT_EQ(p->run(pk.with_flags(kSyn)), XDP_PASS);
  EXPECT_EQ(p->run(pk.with_payload(300)), XDP_PASS);
  uint64_t before = mono_ns();
  EXPECT_EQ(p->run(pk.with_flags(kFin | kAck)), XDP_DROP) << "the ending packet of an intrusion is dropped";
  auto ev = p->events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].type, static_cast<uint32_t>(NNBPF_EV_VERDICT));
  EXPECT_EQ(ev[0].verdict, 1);
  expect_reference(bad_model, ev[0]);
  EXPECT_EQ(ev[1].type, static_cast<uint32_t>(NNBPF_EV_BLOCK));
  EXPECT_TRUE(same_key(ev[1].key, pk.key()));
  nnbpf_block b{};
  ASSERT_TRUE(p->blocked(pk.src, &b));
  EXPECT_EQ(b.by, static_cast<uint32_t>(NNBPF_BLOCK_BY_MODEL));
  EXPECT_GE(b.expires_ns, before + 300 * kSec);
  EXPECT_LE(b.expires_ns, mono_ns() + 300 * kSec);
  EXPECT_EQ(ev[1].block_expires_ns, b.expires_ns);
  EXPECT_EQ(p->stat(NNBPF_STAT_INTRUSIONS), 1u);
  EXPECT_EQ(p->stat(NNBPF_STAT_BLOCKS), 1u);
  // From now on the source is dropped before flow tracking.
  Pkt again = pk;
  again.sport = 50000;
  EXPECT_EQ(p->run(again), XDP_DROP);
  EXPECT_FALSE(p->flow(again.key()));
  EXPECT_EQ(p->stat(NNBPF_STAT_DROPPED), 2u);
  EXPECT_EQ(p->stat(NNBPF_STAT_PASSED), 2u);
}

TEST_F(XdpTest, AllowlistedIntruderIsNeverBlocked) {
  auto p = load(top6_model());
  ASSERT_TRUE(p);
  auto bad_model = always_intrusion(p->artifact().model);
  ASSERT_EQ(p->write_params(nnbpf::compiler::serialize_params(bad_model, 2)), "");
  p->allow(v4(10, 0, 0, 0), 96 + 8);  // 10.0.0.0/8
  p->allow(v6("2001:db8:1::"), 48);
  Pkt pk;
  pk.src = v4(10, 1, 2, 3);
  EXPECT_EQ(p->run(pk), XDP_PASS);
  EXPECT_EQ(p->run(pk.with_flags(kFin)), XDP_PASS);
  Pkt pk6;
  pk6.ip = 6;
  pk6.src = v6("2001:db8:1::99");
  pk6.dst = v6("2001:db8::2");
  EXPECT_EQ(p->run(pk6.with_flags(kRst)), XDP_PASS);
  auto ev = p->events();
  ASSERT_EQ(ev.size(), 2u) << "verdict events only, no block";
  for (const auto& e : ev) {
    EXPECT_EQ(e.type, static_cast<uint32_t>(NNBPF_EV_VERDICT));
    EXPECT_EQ(e.verdict, 1);
  }
  EXPECT_FALSE(p->blocked(pk.src));
  EXPECT_FALSE(p->blocked(pk6.src));
  EXPECT_EQ(p->stat(NNBPF_STAT_ALLOWED), 2u);
  EXPECT_EQ(p->stat(NNBPF_STAT_BLOCKS), 0u);
  EXPECT_EQ(p->stat(NNBPF_STAT_INTRUSIONS), 2u);

  // Outside the prefix: blocked.
  Pkt out;
  out.src = v4(11, 0, 0, 1);
  EXPECT_EQ(p->run(out.with_flags(kFin)), XDP_DROP);
  EXPECT_TRUE(p->blocked(out.src));
}

TEST_F(XdpTest, MonitorModeNeverDropsOrBlocks) {
  LoadOpts o;
  o.monitor = 1;
  auto p = load(top6_model(), o);
  ASSERT_TRUE(p);
  auto bad_model = always_intrusion(p->artifact().model);
  ASSERT_EQ(p->write_params(nnbpf::compiler::serialize_params(bad_model, 2)), "");
  Pkt pk;
  pk.src = v4(203, 0, 113, 10);
  EXPECT_EQ(p->run(pk), XDP_PASS);
  EXPECT_EQ(p->run(pk.with_flags(kFin)), XDP_PASS);
  EXPECT_FALSE(p->blocked(pk.src));
  auto ev = p->events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].verdict, 1);
  EXPECT_EQ(p->stat(NNBPF_STAT_INTRUSIONS), 1u);
  EXPECT_EQ(p->stat(NNBPF_STAT_BLOCKS), 0u);
  // A user's block entry is reported but does not drop either.
  Pkt u;
  u.src = v4(203, 0, 113, 11);
  p->block(u.src, 0);
  EXPECT_EQ(p->run(u), XDP_PASS);
  EXPECT_TRUE(p->flow(u.key()));
  EXPECT_EQ(p->stat(NNBPF_STAT_DROPPED), 0u);
}

TEST_F(XdpTest, BlockTtlZeroNeverExpires) {
  LoadOpts o;
  o.block_ttl_ns = 0;
  auto p = load(top6_model(), o);
  ASSERT_TRUE(p);
  ASSERT_EQ(p->write_params(nnbpf::compiler::serialize_params(always_intrusion(p->artifact().model), 2)), "");
  Pkt pk;
  EXPECT_EQ(p->run(pk.with_flags(kRst)), XDP_DROP);
  nnbpf_block b{};
  ASSERT_TRUE(p->blocked(pk.src, &b));
  EXPECT_EQ(b.expires_ns, 0u);
}

// ---- every N packets, idle sweep ----------------------------------------------------------

TEST_F(XdpTest, EveryNPacketsClassifiesAndKeepsTheFlow) {
  LoadOpts o = monitor();
  o.every_packets = 3;
  auto p = load(top6_model(), o);
  ASSERT_TRUE(p);
  Pkt pk = Pkt{}.with_payload(50);
  for (int i = 1; i <= 7; ++i) {
    Pkt q = i == 7 ? pk.with_flags(kFin | kAck) : pk;
    EXPECT_EQ(p->run(q), XDP_PASS) << "packet " << i;
    auto ev = p->events();
    if (i % 3 == 0 || i == 7) {
      ASSERT_EQ(ev.size(), 1u) << "packet " << i;
      EXPECT_EQ(ev[0].reason, static_cast<uint32_t>(i == 7 ? NNBPF_END_FIN : NNBPF_END_EVERY_N));
      EXPECT_EQ(feature(p->artifact(), ev[0], "fwd_pkt_count"), static_cast<uint64_t>(i));
      expect_reference(p->artifact().model, ev[0]);
    } else {
      EXPECT_TRUE(ev.empty()) << "packet " << i;
    }
    nnbpf_flow_hdr h{};
    if (i < 7) {
      ASSERT_TRUE(p->flow(pk.key(), &h)) << "kept after packet " << i;
      EXPECT_EQ(h.pkts, static_cast<uint32_t>(i));
    } else {
      EXPECT_FALSE(p->flow(pk.key()));
    }
  }
  EXPECT_EQ(p->stat(NNBPF_STAT_INFERENCES), 3u);
  EXPECT_EQ(p->stat(NNBPF_STAT_FLOWS_ENDED), 1u);
  EXPECT_EQ(p->stat(NNBPF_STAT_FLOWS_NEW), 1u);
}

TEST_F(XdpTest, EveryPacketIncludingTheFirst) {
  LoadOpts o = monitor();
  o.every_packets = 1;
  auto p = load(top6_model(), o);
  ASSERT_TRUE(p);
  Pkt pk;
  EXPECT_EQ(p->run(pk), XDP_PASS);
  EXPECT_EQ(p->run(pk), XDP_PASS);
  auto ev = p->events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(feature(p->artifact(), ev[0], "fwd_pkt_count"), 1u);
  EXPECT_EQ(feature(p->artifact(), ev[1], "fwd_pkt_count"), 2u);
  EXPECT_TRUE(p->flow(pk.key()));
}

TEST_F(XdpTest, SweepClassifiesAnIdleFlowAndFreesIt) {
  auto p = load(top6_model(), monitor());
  ASSERT_TRUE(p);
  Pkt pk;
  pk.l4 = IPPROTO_UDP;
  pk.dport = 5353;
  pk.payload = 60;
  EXPECT_EQ(p->run(pk), XDP_PASS);
  EXPECT_EQ(p->run(pk.with_payload(10)), XDP_PASS);
  uint64_t passed = p->stat(NNBPF_STAT_PASSED);
  EXPECT_EQ(p->sweep(pk.key()), XDP_PASS);
  auto ev = p->events();
  ASSERT_EQ(ev.size(), 1u);
  const auto& e = ev[0];
  EXPECT_EQ(e.reason, static_cast<uint32_t>(NNBPF_END_IDLE));
  EXPECT_TRUE(same_key(e.key, pk.key()));
  EXPECT_EQ(feature(p->artifact(), e, "fwd_pkt_count"), 2u);
  EXPECT_EQ(feature(p->artifact(), e, "fwd_pkt_len_max"), 68u);
  EXPECT_EQ(feature(p->artifact(), e, "fwd_pkt_len_min"), 18u);
  EXPECT_EQ(feature(p->artifact(), e, "fwd_header_len"), 16u);
  expect_reference(p->artifact().model, e);
  EXPECT_FALSE(p->flow(pk.key()));
  EXPECT_EQ(p->stat(NNBPF_STAT_FLOWS_ENDED), 1u);
  EXPECT_EQ(p->stat(NNBPF_STAT_PASSED), passed) << "a sweep is not a packet";
  // Gone: no event.
  EXPECT_EQ(p->sweep(pk.key()), XDP_PASS);
  EXPECT_TRUE(p->events().empty());
  // Bad magic: refused.
  EXPECT_EQ(p->sweep(pk.key(), NNBPF_END_IDLE, 0x12345678), XDP_ABORTED);
  EXPECT_EQ(p->error(NNBPF_ERR_PACKET), 1u);
}

TEST_F(XdpTest, SweepOfAnIntruderBlocksIt) {
  auto p = load(top6_model());
  ASSERT_TRUE(p);
  ASSERT_EQ(p->write_params(nnbpf::compiler::serialize_params(always_intrusion(p->artifact().model), 2)), "");
  Pkt pk;
  pk.src = v4(203, 0, 113, 77);
  EXPECT_EQ(p->run(pk), XDP_PASS);
  EXPECT_EQ(p->sweep(pk.key()), XDP_DROP);
  EXPECT_TRUE(p->blocked(pk.src));
  EXPECT_EQ(p->events().size(), 2u);
  EXPECT_EQ(p->stat(NNBPF_STAT_DROPPED), 0u) << "no packet was dropped";
}

// The in-kernel sweep (runtime/sweep.h, nnbpf_sweep_scan): exactly the flows
// idle for their timeout are classified, with their reason; the others stay.
TEST_F(XdpTest, InKernelSweepClassifiesExactlyTheIdleFlows) {
  auto p = load(top6_model(), monitor());
  ASSERT_TRUE(p);
  Pkt syn;  // a port-scan probe: one SYN, never the handshake's ACK
  syn.flags = kSyn;
  syn.sport = 41001;
  Pkt est;  // an established connection: SYN, ACK, a request, then idle
  est.sport = 41002;
  Pkt udp;  // one UDP datagram, then idle
  udp.l4 = IPPROTO_UDP;
  udp.sport = 41003;
  udp.dport = 53;
  udp.payload = 30;
  EXPECT_EQ(p->run(syn), XDP_PASS);
  EXPECT_EQ(p->run(est.with_flags(kSyn)), XDP_PASS);
  EXPECT_EQ(p->run(est), XDP_PASS);
  EXPECT_EQ(p->run(est.with_flags(kAck | kPsh).with_payload(100)), XDP_PASS);
  EXPECT_EQ(p->run(udp), XDP_PASS);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Pkt fresh;  // an active flow: a packet just now
  fresh.flags = kSyn;
  fresh.sport = 41004;
  EXPECT_EQ(p->run(fresh), XDP_PASS);
  ASSERT_EQ(p->flow_count(), 4u);

  // Embryonic timeout 200 ms, idle timeout 10 s: only the SYN-only flow.
  auto emb = nnbpf::runtime::IdleSweep::attach(p->object(), {10 * kSec, kSec / 5});
  ASSERT_TRUE(emb) << emb.error().message;
  auto n = (*emb)->run();
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 1u);
  auto ev = p->events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_TRUE(same_key(ev[0].key, syn.key()));
  EXPECT_EQ(ev[0].reason, static_cast<uint32_t>(NNBPF_END_EMBRYONIC));
  expect_reference(p->artifact().model, ev[0]);
  EXPECT_FALSE(p->flow(syn.key()));
  EXPECT_TRUE(p->flow(est.key())) << "an established idle flow is not swept early";
  EXPECT_TRUE(p->flow(fresh.key()));

  // Idle timeout 200 ms: the established and the UDP flow, not the fresh one.
  auto idle = nnbpf::runtime::IdleSweep::attach(p->object(), {kSec / 5, 0});
  ASSERT_TRUE(idle) << idle.error().message;
  n = (*idle)->run();
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 2u);
  ev = p->events();
  ASSERT_EQ(ev.size(), 2u);
  for (const auto& e : ev) {
    EXPECT_EQ(e.reason, static_cast<uint32_t>(NNBPF_END_IDLE));
    EXPECT_TRUE(same_key(e.key, est.key()) || same_key(e.key, udp.key()));
    expect_reference(p->artifact().model, e);
  }
  EXPECT_NE(ev[0].key.sport, ev[1].key.sport);
  EXPECT_EQ(p->flow_count(), 1u);
  EXPECT_TRUE(p->flow(fresh.key())) << "an active flow is never swept";

  // The exit flush takes every flow left, with its reason.
  n = (*idle)->flush(NNBPF_END_EXIT, nullptr);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 1u);
  ev = p->events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].reason, static_cast<uint32_t>(NNBPF_END_EXIT));
  EXPECT_EQ(p->flow_count(), 0u);
  EXPECT_EQ(p->stat(NNBPF_STAT_FLOWS_ENDED), 4u);
}

// A pass over more due flows than one scan returns (NNBPF_SWEEP_BATCH, 65,536: the
// scan runs again) finds every idle one and nothing else.
TEST_F(XdpTest, InKernelSweepOverManyFlows) {
  LoadOpts o = monitor();
  o.max_flows = 1 << 18;
  auto p = load(top6_model(), o);
  ASSERT_TRUE(p);
  int flows = p->map(NNBPF_MAP_FLOWS);
  std::vector<uint8_t> val(p->flow_value_size(), 0);
  const uint64_t now = mono_ns();
  constexpr uint32_t kFlows = 150000;
  uint32_t idle = 0;
  for (uint32_t i = 0; i < kFlows; ++i) {
    Pkt pk;
    pk.l4 = IPPROTO_UDP;
    pk.src = v4(10, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i));
    pk.sport = 1024;
    nnbpf_flow_hdr h{};
    h.pkts = 3;
    h.last_ns = i % 2 == 0 ? now - 20 * kSec : now + 60 * kSec;  // every other one idle
    idle += i % 2 == 0;
    std::memcpy(val.data(), &h, sizeof h - sizeof h.pad);
    nnbpf_flow_key k = pk.key();
    ASSERT_EQ(bpf_map_update_elem(flows, &k, val.data(), BPF_NOEXIST), 0) << i;
  }
  auto sw = nnbpf::runtime::IdleSweep::attach(p->object(), {10 * kSec, kSec});
  ASSERT_TRUE(sw) << sw.error().message;
  auto n = (*sw)->run();
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, idle);
  EXPECT_EQ(p->stat(NNBPF_STAT_FLOWS_ENDED), idle);
  EXPECT_EQ(p->flow_count(), kFlows - idle);
}

// ---- encapsulations and families ---------------------------------------------------------

TEST_F(XdpTest, Ipv6AndVlanFlowsAreClassifiedLikeIpv4) {
  auto p = load(top6_model(), monitor());
  ASSERT_TRUE(p);
  const Artifact& a = p->artifact();
  Pkt v4p;
  v4p.dport = 3306;
  Pkt v6p = v4p;
  v6p.ip = 6;
  v6p.src = v6("2001:db8::10");
  v6p.dst = v6("2001:db8::20");
  Pkt vlan = v4p;
  vlan.vlans = {0x8100};
  vlan.sport = 40002;
  Pkt qinq = v6p;
  qinq.vlans = {0x88A8, 0x8100};
  qinq.sport = 40003;
  std::vector<Pkt> forms = {v4p, v6p, vlan, qinq};
  for (const auto& form : forms) {
    EXPECT_EQ(p->run(form.with_flags(kSyn)), XDP_PASS);
    EXPECT_EQ(p->run(form.with_payload(700)), XDP_PASS);
    EXPECT_EQ(p->run(form.with_payload(90)), XDP_PASS);
    EXPECT_EQ(p->run(form.with_flags(kFin | kAck)), XDP_PASS);
  }
  auto ev = p->events();
  ASSERT_EQ(ev.size(), forms.size());
  int iat = feature_index(a, "fwd_iat_max_ns");
  for (size_t i = 0; i < ev.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_TRUE(same_key(ev[i].key, forms[i].key()));
    for (uint32_t j = 0; j < ev[i].n_features; ++j) {
      if (static_cast<int>(j) == iat) continue;  // clock-dependent
      EXPECT_EQ(ev[i].feat[j], ev[0].feat[j]) << a.model.features[j];
    }
    expect_reference(a.model, ev[i]);
  }
  EXPECT_EQ(feature(a, ev[0], "fwd_pkt_len_max"), 720u);
}

// ---- capacity and failure paths -----------------------------------------------------------

TEST_F(XdpTest, FullFlowTableEvictsAndKeepsTracking) {
  LoadOpts o;
  o.max_flows = 64;
  auto p = load(top6_model(), o);
  ASSERT_TRUE(p);
  for (int i = 0; i < 300; ++i) {
    Pkt pk;
    pk.sport = static_cast<uint16_t>(10000 + i);
    ASSERT_EQ(p->run(pk), XDP_PASS);
  }
  EXPECT_EQ(p->stat(NNBPF_STAT_FLOWS_NEW), 300u);
  EXPECT_EQ(p->stat(NNBPF_STAT_FLOW_FULL), 0u);
  EXPECT_LE(p->flow_count(), 64u);
  Pkt last;
  last.sport = 10000 + 299;
  EXPECT_TRUE(p->flow(last.key())) << "the newest flow is tracked";
}

TEST_F(XdpTest, BrokenChainPassesThePacket) {
  LoadOpts o;
  o.wire_chain = false;  // no stages: the tail call to stage 0 fails
  auto p = load(top6_model(), o);
  ASSERT_TRUE(p);
  auto bad_model = always_intrusion(p->artifact().model);
  ASSERT_EQ(p->write_params(nnbpf::compiler::serialize_params(bad_model, 2)), "");
  Pkt pk;
  EXPECT_EQ(p->run(pk), XDP_PASS);
  EXPECT_EQ(p->run(pk.with_flags(kFin)), XDP_PASS) << "never drop because nnbpf failed";
  EXPECT_EQ(p->error(NNBPF_ERR_TAILCALL), 1u);
  EXPECT_TRUE(p->events().empty());
  EXPECT_EQ(p->stat(NNBPF_STAT_PASSED), 2u);
  // The scratch is not left marked busy.
  EXPECT_EQ(p->sweep(pk.key()), XDP_PASS);  // flow already freed at FIN
}

TEST_F(XdpTest, BrokenChainStillRemembersTheClose) {
  LoadOpts o;
  o.wire_chain = false;  // the tail call to stage 0 fails
  auto p = load(top6_model(), o);
  ASSERT_TRUE(p);
  Pkt pk;
  EXPECT_EQ(p->run(pk), XDP_PASS);
  EXPECT_EQ(p->run(pk.with_flags(kFin)), XDP_PASS) << "never drop because nnbpf failed";
  EXPECT_EQ(p->error(NNBPF_ERR_TAILCALL), 1u);
  // The connection's remnants start no new flow after the close...
  EXPECT_EQ(p->run(pk), XDP_PASS);
  EXPECT_EQ(p->stat(NNBPF_STAT_AFTER_CLOSE), 1u);
  EXPECT_EQ(p->sweep(pk.key()), XDP_PASS);  // nothing to classify
  // ...nor does another connection's packet...
  Pkt other = pk;
  other.sport = static_cast<uint16_t>(pk.sport + 1);
  EXPECT_EQ(p->run(other), XDP_PASS);
  EXPECT_EQ(p->stat(NNBPF_STAT_AFTER_CLOSE), 1u);
  EXPECT_TRUE(p->flow(other.key()));
  // ...but a SYN on the same 5-tuple does, and the sweep reports the failure.
  EXPECT_EQ(p->run(pk.with_flags(kSyn)), XDP_PASS);
  EXPECT_EQ(p->sweep(pk.key()), XDP_ABORTED);
  EXPECT_EQ(p->error(NNBPF_ERR_TAILCALL), 2u);
}

TEST_F(XdpTest, LastStageFinishesTheFlowItself) {
  LoadOpts o;
  o.wire_finish = false;  // no finish program in nnbpf_progs: a model's flows do not need one
  auto p = load(top6_model(), o);
  ASSERT_TRUE(p);
  ASSERT_EQ(p->write_params(nnbpf::compiler::serialize_params(always_intrusion(p->artifact().model), 2)), "");
  Pkt pk;
  EXPECT_EQ(p->run(pk), XDP_PASS);
  EXPECT_EQ(p->run(pk.with_flags(kFin)), XDP_DROP) << "the intrusion's packet is the first one dropped";
  EXPECT_EQ(p->error(NNBPF_ERR_TAILCALL), 0u);
  auto ev = p->events();
  ASSERT_EQ(ev.size(), 2u);  // verdict, block
  EXPECT_EQ(ev[0].verdict, 1);
  EXPECT_EQ(ev[1].type, NNBPF_EV_BLOCK);
  EXPECT_TRUE(p->blocked(pk.src));
  EXPECT_EQ(p->stat(NNBPF_STAT_INFERENCES), 1u);
}

// ---- cost per packet ---------------------------------------------------------------------

TEST_F(XdpTest, PerPacketCost) {
  auto p = load(repro_model());
  ASSERT_TRUE(p);
  // An empty XDP program, for the harness's own cost.
  const bpf_insn empty[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_PASS},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  int empty_fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "nnbpf_empty", "GPL", empty, 2, nullptr);
  ASSERT_GE(empty_fd, 0) << strerror(errno);

  Pkt pk = Pkt{}.with_payload(100);
  auto bytes = build(pk);
  ASSERT_EQ(p->run(pk), XDP_PASS);  // the flow exists: every run below is mid-flow
  int xdp = p->prog(NNBPF_PROG_XDP_NAME);
  constexpr uint32_t kRepeat = 100000;
  std::vector<uint64_t> base, mid, end;
  for (int round = 0; round < 7; ++round) {
    base.push_back(p->time_run(bytes, empty_fd, kRepeat));
    mid.push_back(p->time_run(bytes, xdp, kRepeat));
  }
  // A flow-ending packet of a new flow: parse, filter, extraction, the whole
  // inference, event (the ring buffer fills up; lost events are counted).
  ASSERT_EQ(p->write_params(nnbpf::compiler::serialize_params(always_benign(p->artifact().model), 2)), "");
  auto fin = build(pk.with_flags(kRst));
  for (int round = 0; round < 3; ++round) end.push_back(p->time_run(fin, xdp, kRepeat / 10));
  close(empty_fd);
  auto median = [](std::vector<uint64_t> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  uint64_t b = median(base), m = median(mid), e = median(end);
  std::cout << "[ cost ] empty XDP program: " << b << " ns/packet\n"
            << "[ cost ] nnbpf_xdp, mid-flow packet (top-6 model): " << m << " ns/packet (+" << (m > b ? m - b : 0)
            << " ns over empty)\n"
            << "[ cost ] nnbpf_xdp, flow-ending packet incl. inference: " << e << " ns/packet\n"
            << "[ cost ] struct nnbpf_flow (top-6 model): " << p->flow_value_size() << " bytes\n";
  RecordProperty("empty_ns_per_packet", static_cast<int>(b));
  RecordProperty("mid_flow_ns_per_packet", static_cast<int>(m));
  RecordProperty("flow_end_ns_per_packet", static_cast<int>(e));
  RecordProperty("flow_state_bytes", static_cast<int>(p->flow_value_size()));
  EXPECT_EQ(p->flow_value_size(), 32u);
  EXPECT_GT(m, 0u);
  EXPECT_EQ(p->stat(NNBPF_STAT_FLOW_FULL), 0u);
}

}  // namespace

// ---- evidence-based blocking (bpf_rt/include/nnbpf/evidence.h) -----------------------------

// One complete flow from `src` (SYN, data, FIN|ACK) on its own port; the XDP
// action of the ending packet.
int one_flow(Pipeline& p, const Addr& src, uint16_t sport) {
  Pkt pk;
  pk.src = src;
  pk.sport = sport;
  if (p.run(pk.with_flags(kSyn)) == XDP_DROP) return XDP_DROP;
  p.run(pk.with_payload(200));
  return p.run(pk.with_flags(kFin | kAck));
}

TEST_F(XdpTest, EvidenceBlocksAfterKVerdictsInTheWindow) {
  LoadOpts o;
  o.block_after = 3;
  auto p = load(top6_model(), o);
  ASSERT_TRUE(p);
  ASSERT_EQ(p->write_params(nnbpf::compiler::serialize_params(always_intrusion(p->artifact().model), 2)), "");
  Addr src = v4(203, 0, 113, 20);
  EXPECT_EQ(one_flow(*p, src, 41000), XDP_PASS);
  EXPECT_EQ(one_flow(*p, src, 41001), XDP_PASS);
  EXPECT_FALSE(p->blocked(src)) << "two verdicts are not enough for K = 3";
  auto ev = p->events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].ev_hits, 1u);
  EXPECT_EQ(ev[1].ev_hits, 2u);
  EXPECT_EQ(ev[1].ev_flows, 2u);
  EXPECT_TRUE(ev[1].flags & NNBPF_EVF_EVIDENCE);
  EXPECT_EQ(one_flow(*p, src, 41002), XDP_DROP) << "the third verdict blocks";
  ev = p->events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[1].type, static_cast<uint32_t>(NNBPF_EV_BLOCK));
  EXPECT_EQ(ev[1].ev_hits, 3u);
  EXPECT_EQ(ev[1].ev_flows, 3u);
  EXPECT_EQ(ev[1].block_ttl_ns, 300 * kSec);
  EXPECT_GT(ev[1].margin, 0);
  nnbpf_block b{};
  ASSERT_TRUE(p->blocked(src, &b));
  EXPECT_EQ(b.by, static_cast<uint32_t>(NNBPF_BLOCK_BY_MODEL));
  EXPECT_EQ(b.hits, 3u);
  EXPECT_EQ(b.flows, 3u);
  EXPECT_EQ(b.class_id, 1u);
  EXPECT_EQ(b.margin, ev[1].margin);
  EXPECT_EQ(b.prefixlen, 128u);
  nnbpf_evidence e{};
  ASSERT_TRUE(p->evidence(src, &e));
  EXPECT_EQ(e.blocks, 1u);
  uint32_t left = 0;
  for (const auto& bk : e.b) left += bk.hits + bk.flows;
  EXPECT_EQ(left, 0u) << "a block starts the prefix's evidence afresh";
  EXPECT_EQ(p->stat(NNBPF_STAT_EVIDENCE), 3u);
  EXPECT_EQ(p->stat(NNBPF_STAT_BLOCKS), 1u);
}

TEST_F(XdpTest, EvidenceShareOfClassifiedFlows) {
  LoadOpts o;
  o.block_after = 2;
  o.min_share_milli = 500;
  auto p = load(top6_model(), o);
  ASSERT_TRUE(p);
  const auto& m = p->artifact().model;
  Addr src = v4(198, 51, 100, 30);
  ASSERT_EQ(p->write_params(nnbpf::compiler::serialize_params(always_benign(m), 2)), "");
  for (int i = 0; i < 4; ++i) EXPECT_EQ(one_flow(*p, src, 42000 + i), XDP_PASS);
  ASSERT_EQ(p->write_params(nnbpf::compiler::serialize_params(always_intrusion(m), 3)), "");
  // 1 of 5, 2 of 6, 3 of 7: below half; 4 of 8: half.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(one_flow(*p, src, 42010 + i), XDP_PASS) << "intrusion " << i + 1;
  EXPECT_FALSE(p->blocked(src));
  auto ev = p->events();
  ASSERT_EQ(ev.size(), 7u);
  EXPECT_EQ(ev[6].ev_hits, 3u);
  EXPECT_EQ(ev[6].ev_flows, 7u);
  EXPECT_EQ(one_flow(*p, src, 42020), XDP_DROP);
  nnbpf_block b{};
  ASSERT_TRUE(p->blocked(src, &b));
  EXPECT_EQ(b.hits, 4u);
  EXPECT_EQ(b.flows, 8u);
}

TEST_F(XdpTest, EvidenceWindowExpires) {
  LoadOpts o;
  o.block_after = 2;
  o.window_ns = 400 * 1000000ULL;  // steps of 50 ms
  auto p = load(top6_model(), o);
  ASSERT_TRUE(p);
  ASSERT_EQ(p->write_params(nnbpf::compiler::serialize_params(always_intrusion(p->artifact().model), 2)), "");
  Addr src = v4(198, 51, 100, 40);
  EXPECT_EQ(one_flow(*p, src, 43000), XDP_PASS);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // past the window
  EXPECT_EQ(one_flow(*p, src, 43001), XDP_PASS) << "the first verdict left the window";
  auto ev = p->events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[1].ev_hits, 1u);
  EXPECT_EQ(ev[1].ev_flows, 1u);
  EXPECT_EQ(one_flow(*p, src, 43002), XDP_DROP) << "two inside the window";
}

TEST_F(XdpTest, EvidenceMarginFloor) {
  LoadOpts o;  // block after 1
  auto p = load(top6_model(), o);
  ASSERT_TRUE(p);
  ASSERT_EQ(p->write_params(nnbpf::compiler::serialize_params(always_intrusion(p->artifact().model), 2)), "");
  // Learn the model's margin on a flow from an allowlisted source.
  Addr probe = v4(192, 0, 2, 1);
  p->allow(probe, 128);
  EXPECT_EQ(one_flow(*p, probe, 44000), XDP_PASS);
  auto ev = p->events();
  ASSERT_EQ(ev.size(), 1u);
  int64_t margin = ev[0].margin;
  EXPECT_EQ(margin, ev[0].logits[1] - ev[0].logits[0]);
  ASSERT_GT(margin, 0);

  nnbpf_policy pol{};
  pol.flags = NNBPF_POLICY_MARGIN;
  pol.min_margin = margin + 1;
  p->set_policy(pol);
  Addr src = v4(198, 51, 100, 50);
  EXPECT_EQ(one_flow(*p, src, 44001), XDP_PASS) << "margin below the floor: not evidence";
  ev = p->events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].verdict, 1);
  EXPECT_FALSE(ev[0].flags & NNBPF_EVF_EVIDENCE);
  EXPECT_EQ(ev[0].ev_hits, 0u);
  EXPECT_EQ(ev[0].ev_flows, 1u);
  pol.min_margin = margin;
  p->set_policy(pol);
  EXPECT_EQ(one_flow(*p, src, 44002), XDP_DROP) << "margin at the floor counts";

  // A class that does not count (class_ignore) is never evidence.
  nnbpf_policy ign{};
  ign.class_ignore = 1 | 2;
  p->set_policy(ign);
  Addr other = v4(198, 51, 100, 51);
  EXPECT_EQ(one_flow(*p, other, 44003), XDP_PASS);
  EXPECT_FALSE(p->blocked(other));
}

TEST_F(XdpTest, EvidenceGroupsSourcesByPrefix) {
  LoadOpts o;
  o.block_after = 2;
  o.prefix_v4 = 24;
  o.prefix_v6 = 64;
  auto p = load(top6_model(), o);
  ASSERT_TRUE(p);
  ASSERT_EQ(p->write_params(nnbpf::compiler::serialize_params(always_intrusion(p->artifact().model), 2)), "");
  EXPECT_EQ(one_flow(*p, v4(10, 1, 2, 3), 45000), XDP_PASS);
  EXPECT_TRUE(p->evidence(v4(10, 1, 2, 0)));
  EXPECT_FALSE(p->evidence(v4(10, 1, 2, 3))) << "evidence is keyed by the /24";
  EXPECT_EQ(one_flow(*p, v4(10, 1, 2, 77), 45001), XDP_DROP) << "second verdict of the /24";
  nnbpf_block b{};
  ASSERT_TRUE(p->blocked(v4(10, 1, 2, 0), &b));
  EXPECT_EQ(b.prefixlen, 96u + 24);
  Pkt same;
  same.src = v4(10, 1, 2, 200);
  EXPECT_EQ(p->run(same), XDP_DROP) << "the whole /24 is blocked";
  Pkt next;
  next.src = v4(10, 1, 3, 1);
  EXPECT_EQ(p->run(next), XDP_PASS);

  auto six = [](const char* a, uint16_t sport, uint8_t flags, int payload = 0) {
    Pkt pk;
    pk.ip = 6;
    pk.src = v6(a);
    pk.dst = v6("2001:db8::2");
    pk.sport = sport;
    pk.flags = flags;
    pk.payload = payload;
    return pk;
  };
  EXPECT_EQ(p->run(six("2001:db8:1:2::1", 46000, kRst)), XDP_PASS);
  EXPECT_TRUE(p->evidence(v6("2001:db8:1:2::")));
  EXPECT_EQ(p->run(six("2001:db8:1:2:aaaa::99", 46001, kRst)), XDP_DROP);
  ASSERT_TRUE(p->blocked(v6("2001:db8:1:2::"), &b));
  EXPECT_EQ(b.prefixlen, 64u);
  EXPECT_EQ(p->run(six("2001:db8:1:2:ffff::5", 46002, kAck)), XDP_DROP);
  EXPECT_EQ(p->run(six("2001:db8:1:3::1", 46003, kAck)), XDP_PASS) << "another /64";
  auto ev = p->events();
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.back().type, static_cast<uint32_t>(NNBPF_EV_BLOCK));
  EXPECT_EQ(ev.back().prefixlen, 64u);
}

TEST_F(XdpTest, FlowsOutsideTheModelsDomainAreCountedNeverClassified) {
  auto p = load(top6_model());
  ASSERT_TRUE(p);
  ASSERT_EQ(p->write_params(nnbpf::compiler::serialize_params(always_intrusion(p->artifact().model), 2)), "");
  nnbpf_policy pol{};
  pol.proto_out = NNBPF_PROTO_OUT_UDP;  // a TCP-only model
  p->set_policy(pol);
  Pkt u;
  u.l4 = IPPROTO_UDP;
  u.dport = 53;
  u.src = v4(198, 51, 100, 60);
  EXPECT_EQ(p->run(u.with_payload(40)), XDP_PASS);
  EXPECT_EQ(p->run(u.with_payload(40)), XDP_PASS);
  EXPECT_TRUE(p->flow(u.key())) << "parsed and tracked";
  EXPECT_EQ(p->sweep(u.key()), XDP_PASS);
  EXPECT_FALSE(p->flow(u.key())) << "freed at its end";
  EXPECT_TRUE(p->events().empty()) << "never classified";
  EXPECT_EQ(p->stat(NNBPF_STAT_OUT_OF_DOMAIN), 1u);
  EXPECT_EQ(p->stat(NNBPF_STAT_INFERENCES), 0u);
  EXPECT_FALSE(p->blocked(u.src));
  EXPECT_FALSE(p->evidence(u.src));
  // TCP from the same source is judged (and, K = 1, blocked).
  EXPECT_EQ(one_flow(*p, u.src, 47000), XDP_DROP);
  EXPECT_EQ(p->stat(NNBPF_STAT_INFERENCES), 1u);
}

TEST_F(XdpTest, UnsureFlowsAreNeverEvidence) {
  LoadOpts o;
  o.abstain = 1;
  auto p = load(top6_model(), o);
  ASSERT_TRUE(p);
  ASSERT_EQ(p->write_params(nnbpf::compiler::serialize_params(always_intrusion(p->artifact().model), 2)), "");
  nnbpf_policy pol{};
  pol.flags = NNBPF_POLICY_RANGES;
  for (auto& hi : pol.data_hi) hi = 1;  // every flow has a feature above 1
  p->set_policy(pol);
  Addr src = v4(198, 51, 100, 70);
  EXPECT_EQ(one_flow(*p, src, 48000), XDP_PASS);
  auto ev = p->events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].verdict, 1);
  EXPECT_TRUE(ev[0].flags & NNBPF_EVF_UNSURE);
  EXPECT_FALSE(ev[0].flags & NNBPF_EVF_EVIDENCE);
  EXPECT_EQ(p->stat(NNBPF_STAT_UNSURE), 1u);
  EXPECT_FALSE(p->blocked(src));
  // Inside the ranges: evidence again.
  for (auto& hi : pol.data_hi) hi = ~0ULL;
  p->set_policy(pol);
  EXPECT_EQ(one_flow(*p, src, 48001), XDP_DROP);
}

TEST_F(XdpTest, RepeatOffenderGetsTwiceTheTtl) {
  LoadOpts o;
  o.block_ttl_ns = 300 * 1000000ULL;
  o.block_ttl_max_ns = 1000 * 1000000ULL;
  auto p = load(top6_model(), o);
  ASSERT_TRUE(p);
  ASSERT_EQ(p->write_params(nnbpf::compiler::serialize_params(always_intrusion(p->artifact().model), 2)), "");
  Addr src = v4(198, 51, 100, 80);
  nnbpf_block b{};
  uint64_t want[] = {300, 600, 1000};  // doubled, then capped by the maximum
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(one_flow(*p, src, 49000 + round), XDP_DROP) << "round " << round;
    ASSERT_TRUE(p->blocked(src, &b));
    EXPECT_EQ(b.ttl_ns, want[round] * 1000000ULL) << "round " << round;
    // Wait until the block has expired, but not a further TTL.
    std::this_thread::sleep_for(std::chrono::nanoseconds(b.expires_ns - mono_ns() + 30 * 1000000ULL));
  }
  // Quiet for longer than the last TTL after the block ended: back to the base TTL.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(one_flow(*p, src, 49010), XDP_DROP);
  ASSERT_TRUE(p->blocked(src, &b));
  EXPECT_EQ(b.ttl_ns, 300 * 1000000ULL);
}
