#include "runtime/bench.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>

#include "compiler/driver/artifact.h"
#include "nnbpf/abi.h"
#include "runtime/block_gen.h"
#include "runtime/evidence.h"
#include "runtime/pins.h"
#include "runtime/map_iter.h"
#include "runtime/pipeline_loader.h"

namespace nnbpf::runtime {

namespace {

uint16_t csum16(const uint8_t* p, size_t n) {
  uint32_t s = 0;
  for (size_t i = 0; i + 1 < n; i += 2) s += (p[i] << 8) | p[i + 1];
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(~s);
}

// Every flow-ending packet writes an event into the pipeline's ring buffer,
// which nobody reads while BPF_PROG_TEST_RUN runs: after each batch the
// drain callback empties it, so that every measured packet writes its event
// (a full ring would send most of them down the cheaper "event lost" path).
Result<uint64_t> median_run(int prog_fd, const std::string& pkt, int repeat, int batches, uint32_t* retval,
                            const std::function<void()>& drain = {}) {
  std::vector<uint64_t> ns;
  std::string out(pkt.size() + 256, '\0');
  for (int b = 0; b < batches; ++b) {
    LIBBPF_OPTS(bpf_test_run_opts, t);
    t.data_in = pkt.data();
    t.data_size_in = static_cast<__u32>(pkt.size());
    t.data_out = out.data();
    t.data_size_out = static_cast<__u32>(out.size());
    t.repeat = repeat;
    if (bpf_prog_test_run_opts(prog_fd, &t)) return Error::runtime(std::string("BPF_PROG_TEST_RUN: ") + std::strerror(errno));
    ns.push_back(t.duration);
    if (retval) *retval = t.retval;
    if (drain) drain();
  }
  std::sort(ns.begin(), ns.end());
  return ns[ns.size() / 2];
}

// The inference alone: the compiled chain run through nnbpf_test_entry on
// an all-zero feature vector (an MLP's code is branch-free, so its cost does
// not depend on the values). Medians over the batches of BPF_PROG_TEST_RUN's
// mean duration (entry program, stages, finish: `chain_ns`) and of the
// chain's own clock, entry to finish, of each batch's last run (`ns`).
struct InferenceTiming {
  uint64_t ns = 0;
  uint64_t chain_ns = 0;
};

Result<InferenceTiming> median_inference(const LoadedPipeline& pipe, int repeat, int batches) {
  std::vector<uint64_t> inside, whole;
  const std::vector<uint64_t> zeros(pipe.n_inputs(), 0);
  for (int b = 0; b < batches; ++b) {
    NNBPF_TRY(r, pipe.run(zeros, repeat));
    inside.push_back(r.chain_ns);
    whole.push_back(r.duration_ns);
  }
  std::sort(inside.begin(), inside.end());
  std::sort(whole.begin(), whole.end());
  return InferenceTiming{inside[inside.size() / 2], whole[whole.size() / 2]};
}

// The memory side of the result: parameters, flow state, every map.
void add_footprint(const compiler::Artifact& art, bpf_object* obj, BenchResult* r) {
  r->param_bytes = art.manifest.params.bytes_per_slot;
  r->param_bytes_total = art.manifest.params.bytes_total;
  bpf_map* flows = bpf_object__find_map_by_name(obj, NNBPF_MAP_FLOWS);
  r->flow_state_bytes = flows ? bpf_map__value_size(flows) : 0;
  r->flow_key_bytes = sizeof(nnbpf_flow_key);
  bpf_map* m;
  bpf_object__for_each_map(m, obj) {
    const char* n = bpf_map__name(m);
    if (!n || std::strchr(n, '.')) continue;  // internal .rodata etc.
    r->maps.push_back({n, bpf_map__max_entries(m), bpf_map__key_size(m), bpf_map__value_size(m)});
  }
}

int count_event(void* ctx, void*, size_t) {
  ++*static_cast<uint64_t*>(ctx);
  return 0;
}

}  // namespace

std::string make_tcp4_packet(uint32_t src_be, uint32_t dst_be, uint16_t sport, uint16_t dport, uint8_t tcp_flags,
                             size_t payload) {
  std::string p(14 + 20 + 20 + payload, '\0');
  auto* b = reinterpret_cast<uint8_t*>(p.data());
  b[12] = 0x08;  // ETH_P_IP
  uint8_t* ip = b + 14;
  ip[0] = 0x45;
  uint16_t tot = htons(static_cast<uint16_t>(20 + 20 + payload));
  std::memcpy(ip + 2, &tot, 2);
  ip[8] = 64;
  ip[9] = 6;
  std::memcpy(ip + 12, &src_be, 4);
  std::memcpy(ip + 16, &dst_be, 4);
  uint16_t c = htons(csum16(ip, 20));
  std::memcpy(ip + 10, &c, 2);
  uint8_t* tcp = ip + 20;
  uint16_t sp = htons(sport), dp = htons(dport);
  std::memcpy(tcp, &sp, 2);
  std::memcpy(tcp + 2, &dp, 2);
  tcp[12] = 5 << 4;
  tcp[13] = tcp_flags;
  tcp[14] = 0xff;
  tcp[15] = 0xff;
  return p;
}

Result<BenchResult> run_bench(const BenchOptions& o) {
  if (!have_bpf_privileges()) return Error::runtime("nnbpf bench needs root or CAP_BPF (it loads the programs)");
  NNBPF_TRY(art, compiler::load_artifact(o.dir));
  nnbpf_config cfg{};
  cfg.block_ttl_ns = 0;
  cfg.monitor = 0;
  apply_policy(PolicyOptions{}, &cfg);  // nnbpf run's default policy
  LoadOptions lo;
  lo.config = cfg;
  NNBPF_TRY(pipe, LoadedPipeline::load(art, lo));
  // The same pipeline without the evidence step: the difference of their
  // flow-ending packets is the evidence update's cost.
  cfg.no_evidence = 1;
  lo.config = cfg;
  NNBPF_TRY(pipe_noev, LoadedPipeline::load(art, lo));
  int xdp = pipe->prog_fd(NNBPF_PROG_XDP_NAME);
  if (xdp < 0) return Error::bad_input(o.dir + ": object has no " NNBPF_PROG_XDP_NAME " program");

  // (a) An empty XDP program, loaded here so both are measured in one run.
  struct bpf_insn empty_insns[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_PASS},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  int empty = bpf_prog_load(BPF_PROG_TYPE_XDP, "nnbpf_empty", "GPL", empty_insns, 2, nullptr);
  if (empty < 0) return Error::runtime(std::string("cannot load an empty XDP program: ") + std::strerror(errno));

  uint32_t src = htonl(0x0a000002), dst = htonl(0x0a000001), blocked_src = htonl(0x0a0000fe);
  std::string mid = make_tcp4_packet(src, dst, 40000, 22, 0x10, 100);   // ACK with data
  // SYN|FIN: creates, ends and classifies a flow on every run. (A plain FIN
  // would, from the second run on, be recognised as the remnant of the flow
  // it just closed and start no flow: see nnbpf_closed.)
  std::string fin = make_tcp4_packet(src, dst, 40001, 22, 0x03, 0);
  std::string blk = make_tcp4_packet(blocked_src, dst, 40002, 22, 0x10, 100);
  nnbpf_addr ba{};
  ba.a[10] = ba.a[11] = 0xff;
  std::memcpy(ba.a + 12, &blocked_src, 4);
  // The benchmark's flows come from an allowlisted source: an intrusion
  // verdict then never blocks it, so every flow-ending run takes the same path.
  nnbpf_lpm_key allow{};
  allow.prefixlen = 128;
  allow.addr.a[10] = allow.addr.a[11] = 0xff;
  std::memcpy(allow.addr.a + 12, &src, 4);
  uint8_t one = 1;
  if (bpf_map_update_elem(pipe->map_fd(NNBPF_MAP_ALLOW), &allow, &one, BPF_ANY) ||
      bpf_map_update_elem(pipe_noev->map_fd(NNBPF_MAP_ALLOW), &allow, &one, BPF_ANY))
    return Error::runtime(std::string("cannot allowlist the bench source: ") + std::strerror(errno));
  nnbpf_block bv{};
  bv.by = NNBPF_BLOCK_BY_USER;
  // (b) is measured while no block exists (as `nnbpf run` marks it, no
  // host-filter lookup), then again with the block of (d) in place.
  NNBPF_TRY(block_gen, BlockGen::map(pipe->map_fd(NNBPF_MAP_BLOCK_GEN)));
  block_gen.mark_if_empty(pipe->map_fd(NNBPF_MAP_BLOCKED));
  auto insert_block = [&]() -> Status {
    if (bpf_map_update_elem(pipe->map_fd(NNBPF_MAP_BLOCKED), &ba, &bv, BPF_ANY))
      return Error::runtime(std::string("cannot insert the bench block entry: ") + std::strerror(errno));
    block_gen.bump();
    return ok_status();
  };

  // A batch of flow-ending packets must fit in the ring buffer (8-byte
  // record header, 8-byte aligned), with room to spare.
  const int ring_events = static_cast<int>(NNBPF_EVENTS_BYTES / ((sizeof(nnbpf_event) + 8 + 7) / 8 * 8));
  const int repeat_flow = std::max(1, std::min(o.repeat_flow, ring_events * 3 / 4));
  uint64_t events_read = 0;
  using Ring = std::unique_ptr<ring_buffer, decltype(&ring_buffer__free)>;
  Ring rb(ring_buffer__new(pipe->map_fd(NNBPF_MAP_EVENTS), count_event, &events_read, nullptr), &ring_buffer__free);
  Ring rb_noev(ring_buffer__new(pipe_noev->map_fd(NNBPF_MAP_EVENTS), count_event, &events_read, nullptr),
               &ring_buffer__free);
  if (!rb || !rb_noev) return Error::runtime("cannot open the event ring buffer: " + std::string(std::strerror(errno)));
  auto drain = [&] {
    ring_buffer__consume(rb.get());
    ring_buffer__consume(rb_noev.get());
  };
  const uint64_t lost_before = percpu_sum(pipe->map_fd(NNBPF_MAP_STATS), NNBPF_STAT_EVENTS_LOST) +
                               percpu_sum(pipe_noev->map_fd(NNBPF_MAP_STATS), NNBPF_STAT_EVENTS_LOST);

  uint32_t rv_empty = 0, rv_mid = 0, rv_fin = 0, rv_blk = 0;
  auto measure = [&](int fd, const std::string& pkt, int repeat, uint32_t* rv) {
    return median_run(fd, pkt, repeat, o.batches, rv, drain);
  };
  NNBPF_TRY(e_ns, measure(empty, mid, o.repeat, &rv_empty));
  NNBPF_TRY(m_ns, measure(xdp, mid, o.repeat, &rv_mid));
  NNBPF_CHECK(insert_block());
  NNBPF_TRY(mb_ns, measure(xdp, mid, o.repeat, nullptr));
  NNBPF_TRY(f_ns, measure(xdp, fin, repeat_flow, &rv_fin));
  NNBPF_TRY(b_ns, measure(xdp, blk, o.repeat, &rv_blk));
  NNBPF_TRY(inf, median_inference(*pipe, std::max(1, o.repeat / 4), o.batches));
  NNBPF_TRY(e2_ns, measure(empty, mid, o.repeat, nullptr));  // again: drift check
  // Evidence cost: flow-ending packets with and without the evidence step,
  // batch by batch in turn so that drift hits both alike.
  std::vector<int64_t> ev_diff;
  std::vector<uint64_t> with_ev, without_ev;
  int xdp_noev = pipe_noev->prog_fd(NNBPF_PROG_XDP_NAME);
  for (int b = 0; b < o.batches; ++b) {
    NNBPF_TRY(w, median_run(xdp, fin, repeat_flow, 1, nullptr, drain));
    NNBPF_TRY(wo, median_run(xdp_noev, fin, repeat_flow, 1, nullptr, drain));
    with_ev.push_back(w);
    without_ev.push_back(wo);
    ev_diff.push_back(static_cast<int64_t>(w) - static_cast<int64_t>(wo));
  }
  std::sort(ev_diff.begin(), ev_diff.end());
  std::sort(with_ev.begin(), with_ev.end());
  std::sort(without_ev.begin(), without_ev.end());
  close(empty);
  const uint64_t events_lost = percpu_sum(pipe->map_fd(NNBPF_MAP_STATS), NNBPF_STAT_EVENTS_LOST) +
                               percpu_sum(pipe_noev->map_fd(NNBPF_MAP_STATS), NNBPF_STAT_EVENTS_LOST) - lost_before;
  if (rv_blk != XDP_DROP) return Error::runtime("bench: the blocked host's packet was not dropped (XDP action " + std::to_string(rv_blk) + ")");
  if (rv_mid != XDP_PASS || rv_fin != XDP_PASS) return Error::runtime("bench: pipeline did not pass benign packets");
  auto errs = pipe->error_counters();
  if (errs)
    for (auto v : *errs)
      if (v) return Error::runtime("bench: inference errors were counted; the chain is broken");

  BenchResult r;
  r.model = o.dir;
  r.shape = art.manifest.shape;
  r.stages = art.stage_names.size();
  r.bpf_isa = art.mcpu;
  r.batches = o.batches;
  r.repeat = o.repeat;
  r.repeat_flow_end = repeat_flow;
  r.events_written = events_read;
  r.events_lost = events_lost;
  r.empty_ns = std::min(e_ns, e2_ns);
  r.packet_ns = m_ns;
  r.packet_with_blocks_ns = mb_ns;
  r.flow_end_ns = f_ns;
  r.blocked_ns = b_ns;
  r.flow_end_evidence_ns = with_ev[with_ev.size() / 2];
  r.flow_end_no_evidence_ns = without_ev[without_ev.size() / 2];
  r.evidence_ns = static_cast<int64_t>(with_ev.front()) - static_cast<int64_t>(without_ev.front());
  r.evidence_median_diff_ns = ev_diff[ev_diff.size() / 2];
  r.inference_ns = inf.ns;
  r.inference_chain_ns = inf.chain_ns;
  add_footprint(art, pipe->object(), &r);
  return r;
}

nlohmann::json BenchResult::to_json() const {
  nlohmann::json j = {{"model", model},
                      {"shape", shape},
                      {"stages", stages},
                      {"bpf_isa", bpf_isa},
                      {"batches", batches},
                      {"repeat", repeat},
                      {"repeat_flow_end", repeat_flow_end},
                      {"events_written", events_written},
                      {"events_lost", events_lost},
                      {"empty_ns", empty_ns},
                      {"packet_ns", packet_ns},
                      {"packet_with_blocks_ns", packet_with_blocks_ns},
                      {"flow_end_ns", flow_end_ns},
                      {"blocked_ns", blocked_ns},
                      {"flow_end_evidence_ns", flow_end_evidence_ns},
                      {"flow_end_no_evidence_ns", flow_end_no_evidence_ns},
                      {"evidence_ns", evidence_ns},
                      {"evidence_median_diff_ns", evidence_median_diff_ns},
                      {"inference_ns", inference_ns},
                      {"inference_chain_ns", inference_chain_ns},
                      {"packet_overhead_ns", above(packet_ns)},
                      {"flow_end_overhead_ns", above(flow_end_ns)},
                      {"blocked_overhead_ns", above(blocked_ns)},
                      {"packet_ratio", ratio(packet_ns)},
                      {"flow_end_ratio", ratio(flow_end_ns)},
                      {"blocked_ratio", ratio(blocked_ns)},
                      {"inference_ratio", ratio(inference_chain_ns)},
                      {"param_bytes", param_bytes},
                      {"param_bytes_total", param_bytes_total},
                      {"flow_state_bytes", flow_state_bytes},
                      {"flow_key_bytes", flow_key_bytes}};
  nlohmann::json& mj = j["maps"] = nlohmann::json::object();
  for (const auto& m : maps)
    mj[m.name] = {{"max_entries", m.max_entries}, {"key_bytes", m.key_bytes}, {"value_bytes", m.value_bytes}};
  return j;
}

}  // namespace nnbpf::runtime
