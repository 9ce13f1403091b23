#include "test/kernel/framework/xdp_tester.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>

#include "compiler/codegen/params_layout.h"
#include "runtime/map_iter.h"

namespace nnbpf::testing {

uint64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * kSec + ts.tv_nsec;
}

XdpTester::~XdpTester() {
  if (rb_) ring_buffer__free(rb_);
}

std::string XdpTester::load(const compiler::Artifact& a, const PipelineOptions& o) {
  art_ = &a;
  runtime::LoadOptions lo;
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
  auto loaded = runtime::LoadedPipeline::load(a, lo);
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
  std::string err = unwire(o);
  if (!err.empty()) return err;
  rb_ = ring_buffer__new(map(NNBPF_MAP_EVENTS), on_event, this, nullptr);
  if (!rb_) return "ring_buffer__new";
  return "";
}

// Broken chains on purpose: the loader wired everything; take out what `o` leaves out.
std::string XdpTester::unwire(const PipelineOptions& o) {
  const int progs = map(NNBPF_MAP_PROGS);
  if (!o.wire_chain)
    for (size_t k = 0; k < art_->stage_names.size(); ++k) {
      uint32_t slot = NNBPF_PROG_STAGE0 + static_cast<uint32_t>(k);
      if (bpf_map_delete_elem(progs, &slot)) return "unwire " + art_->stage_names[k];
    }
  if (!o.wire_finish)
    for (uint32_t slot : {uint32_t{NNBPF_PROG_FINISH_FLOW}, uint32_t{NNBPF_PROG_FINISH_TEST}})
      if (bpf_map_delete_elem(progs, &slot)) return "unwire finish";
  return "";
}

// ---- running ---------------------------------------------------------------------

int XdpTester::run_bytes(const std::vector<uint8_t>& frame, int fd) {
  std::vector<uint8_t> out(frame.size() + 256);
  LIBBPF_OPTS(bpf_test_run_opts, t);
  t.data_in = frame.data();
  t.data_size_in = static_cast<__u32>(frame.size());
  t.data_out = out.data();
  t.data_size_out = static_cast<__u32>(out.size());
  t.repeat = 1;
  if (bpf_prog_test_run_opts(fd, &t)) {
    ADD_FAILURE() << "BPF_PROG_TEST_RUN: " << strerror(errno);
    return -1;
  }
  return static_cast<int>(t.retval);
}

int XdpTester::run_flow(const Addr& src, uint16_t sport) {
  const Packet pk = Packet{}.from(src).sport(sport);
  if (run(pk.flags(kSyn)) == XDP_DROP) return XDP_DROP;
  run(pk.payload(200));
  return run(pk.flags(kFin | kAck));
}

uint64_t XdpTester::time_run(const std::vector<uint8_t>& frame, int fd, uint32_t repeat) {
  LIBBPF_OPTS(bpf_test_run_opts, t);
  t.data_in = frame.data();
  t.data_size_in = static_cast<__u32>(frame.size());
  t.repeat = repeat;
  if (bpf_prog_test_run_opts(fd, &t)) return 0;
  return t.duration;
}

int XdpTester::sweep(const nnbpf_flow_key& k, uint32_t reason, uint32_t magic) {
  nnbpf_sweep_pkt p{};
  p.magic = magic;
  p.reason = reason;
  p.key = k;
  const auto* raw = reinterpret_cast<const uint8_t*>(&p);
  return run_bytes(std::vector<uint8_t>(raw, raw + sizeof p), sweep_);
}

// ---- what the pipeline did ---------------------------------------------------------

int XdpTester::on_event(void* ctx, void* data, size_t size) {
  auto* self = static_cast<XdpTester*>(ctx);
  nnbpf_event e{};
  std::memcpy(&e, data, std::min(size, sizeof e));
  EXPECT_EQ(size, sizeof e);
  self->got_.push_back(e);
  return 0;
}

std::vector<nnbpf_event> XdpTester::events() {
  got_.clear();
  ring_buffer__consume(rb_);
  return got_;
}

uint64_t XdpTester::stat(uint32_t idx) const { return runtime::percpu_sum(stats_, idx); }

uint64_t XdpTester::error(uint32_t idx) const { return runtime::percpu_sum(errors_, idx); }

void XdpTester::expect_no_errors() const {
  for (uint32_t k = 0; k < NNBPF_ERR_MAX; ++k) EXPECT_EQ(error(k), 0u) << "error counter " << k;
}

bool XdpTester::flow(const nnbpf_flow_key& k, nnbpf_flow_hdr* hdr) const {
  std::vector<uint8_t> v(flow_value_size());
  if (bpf_map_lookup_elem(flows_, &k, v.data())) return false;
  if (hdr) std::memcpy(hdr, v.data(), sizeof(*hdr) - sizeof(hdr->pad));
  return true;
}

size_t XdpTester::flow_count() const {
  return runtime::for_each_key<nnbpf_flow_key>(flows_, SIZE_MAX, [](const nnbpf_flow_key&) {});
}

uint32_t XdpTester::flow_value_size() const {
  return bpf_map__value_size(bpf_object__find_map_by_name(lp_->object(), NNBPF_MAP_FLOWS));
}

bool XdpTester::blocked(const Addr& src, nnbpf_block* out) const {
  nnbpf_block b{};
  if (bpf_map_lookup_elem(blocked_, src.data(), &b)) return false;
  if (out) *out = b;
  return true;
}

bool XdpTester::evidence(const Addr& prefix, nnbpf_evidence* out) const {
  nnbpf_evidence e{};
  if (bpf_map_lookup_elem(map(NNBPF_MAP_EVIDENCE), prefix.data(), &e)) return false;
  if (out) *out = e;
  return true;
}

// ---- what user space does -------------------------------------------------------------

std::string XdpTester::write_model(const compiler::QuantModel& model, uint64_t generation) {
  const std::vector<uint8_t> bytes = compiler::serialize_params(model, generation);
  uint32_t zero = 0;
  if (bpf_map_update_elem(params_, &zero, bytes.data(), BPF_ANY)) return "params slot 0";
  return "";
}

void XdpTester::block(const Addr& src, uint64_t expires_ns, uint32_t by) {
  nnbpf_block b{};
  b.expires_ns = expires_ns;
  b.added_ns = mono_ns();
  b.by = by;
  ASSERT_EQ(bpf_map_update_elem(blocked_, src.data(), &b, BPF_ANY), 0);
}

void XdpTester::allow(const Addr& prefix, uint32_t prefixlen) {
  nnbpf_lpm_key k{};
  k.prefixlen = prefixlen;
  std::memcpy(k.addr.a, prefix.data(), 16);
  uint8_t one = 1;
  ASSERT_EQ(bpf_map_update_elem(allow_, &k, &one, BPF_ANY), 0);
}

void XdpTester::set_policy(const nnbpf_policy& pol) {
  uint32_t zero = 0;
  ASSERT_EQ(bpf_map_update_elem(map(NNBPF_MAP_POLICY), &zero, &pol, BPF_ANY), 0);
}

// ---- the fixture base ---------------------------------------------------------------------

void XdpTest::SetUp() {
  if (!runtime::have_bpf_privileges()) {
    const char* ci = std::getenv("CI");
    if (ci && std::string(ci) == "true") FAIL() << "kernel fixtures need root/CAP_BPF under CI";
    GTEST_SKIP() << "not root: kernel fixtures skipped";
  }
}

std::unique_ptr<XdpTester> XdpTest::load(const std::string& onnx, const PipelineOptions& o) {
  const compiler::Artifact* a = nullptr;
  try {
    a = &compiled(onnx);
  } catch (const std::exception& ex) {
    ADD_FAILURE() << ex.what();
    return nullptr;
  }
  auto p = std::make_unique<XdpTester>();
  std::string err = p->load(*a, o);
  if (!err.empty()) {
    ADD_FAILURE() << "loading " << a->object_path << ": " << err;
    return nullptr;
  }
  return p;
}

std::unique_ptr<XdpTester> XdpTest::load_intruder(const PipelineOptions& o) {
  auto p = load(top6_model(), o);
  if (!p) return nullptr;
  std::string err = p->write_model(always_intrusion(p->artifact().model), 2);
  if (!err.empty()) {
    ADD_FAILURE() << "always-intrusion parameters: " << err;
    return nullptr;
  }
  return p;
}

}  // namespace nnbpf::testing
