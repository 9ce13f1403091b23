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

namespace {

// The two pipelines bench compares: nnbpf run's default policy, and the same
// without the evidence step (the difference of their flow-ending packets is
// the evidence update's cost).
struct BenchPipelines {
  std::unique_ptr<LoadedPipeline> pipe;
  std::unique_ptr<LoadedPipeline> noev;
};

Result<BenchPipelines> load_bench_pipelines(const compiler::Artifact& art) {
  nnbpf_config cfg{};
  cfg.block_ttl_ns = 0;
  cfg.monitor = 0;
  apply_policy(PolicyOptions{}, &cfg);  // nnbpf run's default policy
  LoadOptions lo;
  lo.config = cfg;
  NNBPF_TRY(pipe, LoadedPipeline::load(art, lo));
  cfg.no_evidence = 1;
  lo.config = cfg;
  NNBPF_TRY(noev, LoadedPipeline::load(art, lo));
  return BenchPipelines{std::move(pipe), std::move(noev)};
}

// (a) An empty XDP program, loaded here so both are measured in one run.
Result<int> load_empty_xdp() {
  struct bpf_insn empty_insns[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_PASS},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  int empty = bpf_prog_load(BPF_PROG_TYPE_XDP, "nnbpf_empty", "GPL", empty_insns, 2, nullptr);
  if (empty < 0) return Error::runtime(std::string("cannot load an empty XDP program: ") + std::strerror(errno));
  return empty;
}

// An IPv4 address as the maps key it: v4-mapped IPv6.
nnbpf_addr v4_mapped(uint32_t addr_be) {
  nnbpf_addr a{};
  a.a[10] = a.a[11] = 0xff;
  std::memcpy(a.a + 12, &addr_be, 4);
  return a;
}

// The benchmark's flows come from an allowlisted source: an intrusion
// verdict then never blocks it, so every flow-ending run takes the same path.
Status allowlist_source(const BenchPipelines& p, uint32_t src_be) {
  nnbpf_lpm_key allow{};
  allow.prefixlen = 128;
  allow.addr = v4_mapped(src_be);
  uint8_t one = 1;
  if (bpf_map_update_elem(p.pipe->map_fd(NNBPF_MAP_ALLOW), &allow, &one, BPF_ANY) ||
      bpf_map_update_elem(p.noev->map_fd(NNBPF_MAP_ALLOW), &allow, &one, BPF_ANY))
    return Error::runtime(std::string("cannot allowlist the bench source: ") + std::strerror(errno));
  return ok_status();
}

// Both pipelines' event ring buffers, emptied after every batch (median_run's
// drain) and counting the events read. Not movable: the ring buffers hold a
// pointer to the count.
class EventDrain {
 public:
  static Result<std::unique_ptr<EventDrain>> open(const BenchPipelines& p) {
    std::unique_ptr<EventDrain> d(new EventDrain());
    d->rb_.reset(ring_buffer__new(p.pipe->map_fd(NNBPF_MAP_EVENTS), count_event, &d->read_, nullptr));
    d->rb_noev_.reset(ring_buffer__new(p.noev->map_fd(NNBPF_MAP_EVENTS), count_event, &d->read_, nullptr));
    if (!d->rb_ || !d->rb_noev_)
      return Error::runtime("cannot open the event ring buffer: " + std::string(std::strerror(errno)));
    return d;
  }
  void operator()() {
    ring_buffer__consume(rb_.get());
    ring_buffer__consume(rb_noev_.get());
  }
  uint64_t read() const { return read_; }

 private:
  EventDrain() = default;
  using Ring = std::unique_ptr<ring_buffer, decltype(&ring_buffer__free)>;
  Ring rb_{nullptr, &ring_buffer__free};
  Ring rb_noev_{nullptr, &ring_buffer__free};
  uint64_t read_ = 0;
};

uint64_t events_lost(const BenchPipelines& p) {
  return percpu_sum(p.pipe->map_fd(NNBPF_MAP_STATS), NNBPF_STAT_EVENTS_LOST) +
         percpu_sum(p.noev->map_fd(NNBPF_MAP_STATS), NNBPF_STAT_EVENTS_LOST);
}

// The packets of paths (b), (c) and (d), from src (allowlisted) and
// blocked_src (blocked for (d)).
struct BenchPackets {
  uint32_t src = htonl(0x0a000002);
  uint32_t dst = htonl(0x0a000001);
  uint32_t blocked_src = htonl(0x0a0000fe);
  std::string mid = make_tcp4_packet(src, dst, 40000, 22, 0x10, 100);  // ACK with data
  // SYN|FIN: creates, ends and classifies a flow on every run. (A plain FIN
  // would, from the second run on, be recognised as the remnant of the flow
  // it just closed and start no flow: see nnbpf_closed.)
  std::string fin = make_tcp4_packet(src, dst, 40001, 22, 0x03, 0);
  std::string blk = make_tcp4_packet(blocked_src, dst, 40002, 22, 0x10, 100);
};

// The medians of each path and the XDP actions they returned.
struct PathTimings {
  uint64_t empty_ns = 0, empty2_ns = 0, mid_ns = 0, mid_blocks_ns = 0, fin_ns = 0, blocked_ns = 0;
  InferenceTiming inference;
  uint32_t rv_mid = 0, rv_fin = 0, rv_blk = 0;
};

Result<PathTimings> measure_paths(const BenchPipelines& p, const BenchOptions& o, const BenchPackets& pk, int empty,
                                  int repeat_flow, EventDrain& drain) {
  const int xdp = p.pipe->prog_fd(NNBPF_PROG_XDP_NAME);
  const std::function<void()> drain_fn = [&drain] { drain(); };
  auto measure = [&](int fd, const std::string& pkt, int repeat, uint32_t* rv) {
    return median_run(fd, pkt, repeat, o.batches, rv, drain_fn);
  };
  // (b) is measured while no block exists (as `nnbpf run` marks it, no
  // host-filter lookup), then again with the block of (d) in place.
  NNBPF_TRY(block_gen, BlockGen::map(p.pipe->map_fd(NNBPF_MAP_BLOCK_GEN)));
  block_gen.mark_if_empty(p.pipe->map_fd(NNBPF_MAP_BLOCKED));
  PathTimings t;
  uint32_t rv_empty = 0;
  NNBPF_TRY(e_ns, measure(empty, pk.mid, o.repeat, &rv_empty));
  NNBPF_TRY(m_ns, measure(xdp, pk.mid, o.repeat, &t.rv_mid));
  const nnbpf_addr blocked = v4_mapped(pk.blocked_src);
  nnbpf_block bv{};
  bv.by = NNBPF_BLOCK_BY_USER;
  if (bpf_map_update_elem(p.pipe->map_fd(NNBPF_MAP_BLOCKED), &blocked, &bv, BPF_ANY))
    return Error::runtime(std::string("cannot insert the bench block entry: ") + std::strerror(errno));
  block_gen.bump();
  NNBPF_TRY(mb_ns, measure(xdp, pk.mid, o.repeat, nullptr));
  NNBPF_TRY(f_ns, measure(xdp, pk.fin, repeat_flow, &t.rv_fin));
  NNBPF_TRY(b_ns, measure(xdp, pk.blk, o.repeat, &t.rv_blk));
  NNBPF_TRY(inf, median_inference(*p.pipe, std::max(1, o.repeat / 4), o.batches));
  NNBPF_TRY(e2_ns, measure(empty, pk.mid, o.repeat, nullptr));  // again: drift check
  t.empty_ns = e_ns;
  t.empty2_ns = e2_ns;
  t.mid_ns = m_ns;
  t.mid_blocks_ns = mb_ns;
  t.fin_ns = f_ns;
  t.blocked_ns = b_ns;
  t.inference = inf;
  return t;
}

// Evidence cost: flow-ending packets with and without the evidence step,
// batch by batch in turn so that drift hits both alike; each list sorted.
struct EvidenceCost {
  std::vector<int64_t> diff;
  std::vector<uint64_t> with_ev, without_ev;
};

Result<EvidenceCost> measure_evidence(const BenchPipelines& p, const BenchPackets& pk, int repeat_flow, int batches,
                                      EventDrain& drain) {
  const int xdp = p.pipe->prog_fd(NNBPF_PROG_XDP_NAME), xdp_noev = p.noev->prog_fd(NNBPF_PROG_XDP_NAME);
  const std::function<void()> drain_fn = [&drain] { drain(); };
  EvidenceCost c;
  for (int b = 0; b < batches; ++b) {
    NNBPF_TRY(w, median_run(xdp, pk.fin, repeat_flow, 1, nullptr, drain_fn));
    NNBPF_TRY(wo, median_run(xdp_noev, pk.fin, repeat_flow, 1, nullptr, drain_fn));
    c.with_ev.push_back(w);
    c.without_ev.push_back(wo);
    c.diff.push_back(static_cast<int64_t>(w) - static_cast<int64_t>(wo));
  }
  std::sort(c.diff.begin(), c.diff.end());
  std::sort(c.with_ev.begin(), c.with_ev.end());
  std::sort(c.without_ev.begin(), c.without_ev.end());
  return c;
}

// The paths did what they measure: benign packets passed, the blocked host's
// dropped, no inference failed.
Status check_paths(const PathTimings& t, const LoadedPipeline& pipe) {
  if (t.rv_blk != XDP_DROP)
    return Error::runtime("bench: the blocked host's packet was not dropped (XDP action " + std::to_string(t.rv_blk) + ")");
  if (t.rv_mid != XDP_PASS || t.rv_fin != XDP_PASS) return Error::runtime("bench: pipeline did not pass benign packets");
  auto errs = pipe.error_counters();
  if (errs)
    for (auto v : *errs)
      if (v) return Error::runtime("bench: inference errors were counted; the chain is broken");
  return ok_status();
}

void fill_timings(const PathTimings& t, const EvidenceCost& ev, BenchResult* r) {
  r->empty_ns = std::min(t.empty_ns, t.empty2_ns);
  r->packet_ns = t.mid_ns;
  r->packet_with_blocks_ns = t.mid_blocks_ns;
  r->flow_end_ns = t.fin_ns;
  r->blocked_ns = t.blocked_ns;
  r->flow_end_evidence_ns = ev.with_ev[ev.with_ev.size() / 2];
  r->flow_end_no_evidence_ns = ev.without_ev[ev.without_ev.size() / 2];
  r->evidence_ns = static_cast<int64_t>(ev.with_ev.front()) - static_cast<int64_t>(ev.without_ev.front());
  r->evidence_median_diff_ns = ev.diff[ev.diff.size() / 2];
  r->inference_ns = t.inference.ns;
  r->inference_chain_ns = t.inference.chain_ns;
}

}  // namespace

Result<BenchResult> run_bench(const BenchOptions& o) {
  if (!have_bpf_privileges()) return Error::runtime("nnbpf bench needs root or CAP_BPF (it loads the programs)");
  NNBPF_TRY(art, compiler::load_artifact(o.dir));
  NNBPF_TRY(pipes, load_bench_pipelines(art));
  if (pipes.pipe->prog_fd(NNBPF_PROG_XDP_NAME) < 0)
    return Error::bad_input(o.dir + ": object has no " NNBPF_PROG_XDP_NAME " program");
  NNBPF_TRY(empty, load_empty_xdp());
  const BenchPackets pk;
  NNBPF_CHECK(allowlist_source(pipes, pk.src));

  // A batch of flow-ending packets must fit in the ring buffer (8-byte
  // record header, 8-byte aligned), with room to spare.
  const int ring_events = static_cast<int>(NNBPF_EVENTS_BYTES / ((sizeof(nnbpf_event) + 8 + 7) / 8 * 8));
  const int repeat_flow = std::max(1, std::min(o.repeat_flow, ring_events * 3 / 4));
  NNBPF_TRY(drain, EventDrain::open(pipes));
  const uint64_t lost_before = events_lost(pipes);
  NNBPF_TRY(t, measure_paths(pipes, o, pk, empty, repeat_flow, *drain));
  NNBPF_TRY(ev, measure_evidence(pipes, pk, repeat_flow, o.batches, *drain));
  close(empty);
  const uint64_t lost = events_lost(pipes) - lost_before;
  NNBPF_CHECK(check_paths(t, *pipes.pipe));

  BenchResult r;
  r.model = o.dir;
  r.shape = art.manifest.shape;
  r.stages = art.stage_names.size();
  r.bpf_isa = art.mcpu;
  r.batches = o.batches;
  r.repeat = o.repeat;
  r.repeat_flow_end = repeat_flow;
  r.events_written = drain->read();
  r.events_lost = lost;
  fill_timings(t, ev, &r);
  add_footprint(art, pipes.pipe->object(), &r);
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
