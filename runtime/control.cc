#include "runtime/control.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "compiler/codegen/params_layout.h"
#include "nnbpf/abi.h"
#include "nnbpf/sweep.h"
#include "runtime/block_gen.h"
#include "runtime/evidence.h"
#include "runtime/map_iter.h"
#include "runtime/pins.h"
#include "runtime/util.h"

namespace nnbpf::runtime {

Result<compiler::Manifest> running_manifest(const std::string& iface) {
  std::string path = state_dir(iface) + "/manifest.json";
  std::ifstream in(path);
  if (!in) return Error::runtime("no nnbpf pipeline on " + iface + " (" + path + " missing)");
  std::stringstream text;
  text << in.rdbuf();
  auto m = compiler::parse_manifest(text.str(), path);
  if (!m) return Error::runtime(m.error().message);
  return m;
}

Result<std::vector<HostEntry>> hosts_list(const std::string& iface) {
  NNBPF_TRY(fd, open_pinned(iface, NNBPF_MAP_BLOCKED));
  Fd m(fd);
  std::vector<std::string> classes = {"benign", "intrusion"};
  double scale = 1;
  if (auto man = running_manifest(iface)) {
    classes = man->class_names();
    scale = man->logit_units();
  }
  std::vector<HostEntry> out;
  const uint64_t now = ktime_now_ns();
  for_each_entry<nnbpf_addr, nnbpf_block>(m.fd, NNBPF_MAX_BLOCKED, [&](const nnbpf_addr& key, const nnbpf_block& val) {
    HostEntry e;
    e.addr = format_prefix(key.a, val.prefixlen);
    e.expires_in_ns = val.expires_ns == 0 ? 0 : (val.expires_ns > now ? val.expires_ns - now : 1);
    e.age_ns = now > val.added_ns ? now - val.added_ns : 0;
    e.drops = val.drops;
    e.by = val.by == NNBPF_BLOCK_BY_USER ? "user" : "model";
    if (val.by == NNBPF_BLOCK_BY_MODEL) {
      e.hits = val.hits;
      e.flows = val.flows;
      e.class_name = val.class_id < classes.size() ? classes[val.class_id] : std::to_string(val.class_id);
      e.margin = static_cast<double>(val.margin) / scale;
      e.ttl_ns = val.ttl_ns;
    }
    if (val.expires_ns == 0 || val.expires_ns > now) out.push_back(e);
  });
  return out;
}

Status hosts_add(const std::string& iface, const std::string& addr, uint64_t ttl_ns) {
  NNBPF_TRY(a, parse_addr(addr));
  NNBPF_TRY(fd, open_pinned(iface, NNBPF_MAP_BLOCKED));
  Fd m(fd);
  NNBPF_TRY(gen, BlockGen::open_pinned(iface));
  nnbpf_addr key;
  std::memcpy(key.a, a.data(), 16);
  nnbpf_block val{};
  uint64_t now = ktime_now_ns();
  val.added_ns = now;
  val.expires_ns = ttl_ns ? now + ttl_ns : 0;
  val.by = NNBPF_BLOCK_BY_USER;
  if (bpf_map_update_elem(m.fd, &key, &val, BPF_ANY))
    return Error::runtime(std::string(NNBPF_MAP_BLOCKED) + ": cannot add " + addr + ": " + std::strerror(errno));
  gen.bump();  // after the insert: packets look it up from now on
  return ok_status();
}

Status hosts_del(const std::string& iface, const std::string& addr) {
  std::string host = addr;
  if (auto slash = addr.find('/'); slash != std::string::npos) host = addr.substr(0, slash);
  NNBPF_TRY(a, parse_addr(host));
  NNBPF_TRY(fd, open_pinned(iface, NNBPF_MAP_BLOCKED));
  Fd m(fd);
  nnbpf_addr key;
  std::memcpy(key.a, a.data(), 16);
  bool removed = bpf_map_delete_elem(m.fd, &key) == 0;
  if (!removed && errno != ENOENT)
    return Error::runtime(std::string(NNBPF_MAP_BLOCKED) + ": cannot delete " + addr + ": " + std::strerror(errno));
  // A model block of the address's prefix, and the prefix's evidence.
  bool had_evidence = false;
  if (auto pol = running_policy(iface)) {
    nnbpf_addr pk;
    prefix_key(a.data(), *pol, pk.a);
    if (!removed && std::memcmp(pk.a, key.a, 16) != 0) removed = bpf_map_delete_elem(m.fd, &pk) == 0;
    auto ev = evidence_del(iface, a.data());
    had_evidence = ev && *ev;
  }
  if (!removed && !had_evidence) return Error::bad_input(addr + " is not blocked on " + iface + " and has no evidence");
  if (auto gen = BlockGen::open_pinned(iface)) gen->mark_if_empty(m.fd);
  return ok_status();
}

Result<size_t> hosts_flush(const std::string& iface) {
  NNBPF_TRY(fd, open_pinned(iface, NNBPF_MAP_BLOCKED));
  Fd m(fd);
  size_t n = 0;
  nnbpf_addr key{};
  // Bounded: at most the map's capacity of deletions.
  for (size_t i = 0; i < (1u << 22) && bpf_map_get_next_key(m.fd, nullptr, &key) == 0; ++i)
    if (bpf_map_delete_elem(m.fd, &key) == 0) ++n;
  if (auto gen = BlockGen::open_pinned(iface)) gen->mark_if_empty(m.fd);
  return n;
}

Result<std::vector<uint64_t>> read_inference_seq(int scratch_fd) {
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return Error::runtime("cannot count possible CPUs");
  std::vector<nnbpf_scratch> vals(ncpu);
  uint32_t zero = 0;
  if (bpf_map_lookup_elem(scratch_fd, &zero, vals.data()))
    return Error::runtime(std::string(NNBPF_MAP_SCRATCH) + ": lookup failed: " + std::strerror(errno));
  std::vector<uint64_t> seq(ncpu);
  for (int i = 0; i < ncpu; ++i) seq[i] = vals[i].seq;
  return seq;
}

Status wait_grace_period(int scratch_fd, int timeout_ms) {
  NNBPF_TRY(start, read_inference_seq(scratch_fd));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    NNBPF_TRY(now, read_inference_seq(scratch_fd));
    bool quiet = true;
    for (size_t i = 0; i < start.size(); ++i)
      if ((start[i] & 1) && now[i] == start[i]) quiet = false;
    if (quiet) return ok_status();
    if (std::chrono::steady_clock::now() > deadline)
      return Error::runtime("grace period not reached in " + std::to_string(timeout_ms) +
                            " ms: an inference did not finish (see nnbpf stats errors)");
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

namespace {

std::string a_or_an(const std::string& kind) { return std::string(kind == "mlp" ? "an " : "a ") + kind; }

// The tree layout: compiled code unrolls each tree's depth and masks by the capacities.
Status check_tree_layout(const compiler::ManifestTree& running, const compiler::ManifestTree& next) {
  using nlohmann::json;
  const std::pair<const char*, std::pair<json, json>> fields[] = {
      {"trees", {running.trees, next.trees}},
      {"depths", {running.depths, next.depths}},
      {"node_capacity", {running.node_capacity, next.node_capacity}},
      {"leaf_capacity", {running.leaf_capacity, next.leaf_capacity}}};
  for (const auto& [key, values] : fields)
    if (values.first != values.second)
      return Error::bad_input(std::string("update refused: tree layout differs: ") + key + " " + values.second.dump() +
                              " (new) vs " + values.first.dump() + " (running); restart with nnbpf run to change it");
  return ok_status();
}

}  // namespace

Status check_compatible(const compiler::Manifest& running, const compiler::Artifact& next) {
  using nlohmann::json;
  const compiler::Manifest& m = next.manifest;
  if (running.kind != m.kind)
    return Error::bad_input("update refused: the new model is " + a_or_an(m.kind) + ", the running pipeline runs " +
                            a_or_an(running.kind));
  // int8 and int32 slots have different layouts and code: never mix them.
  if (running.quant.mode != m.quant.mode)
    return Error::bad_input("update refused: the new model is quantized " + m.quant.mode + ", the running pipeline " +
                            running.quant.mode + " (recompile it with --quant " + running.quant.mode + ")");
  if (running.features != m.features)
    return Error::bad_input("update refused: the new model's features " + json(m.features).dump() +
                            " differ from the running pipeline's " + json(running.features).dump());
  if (running.shape != m.shape)
    return Error::bad_input("update refused: the new model's shape " + json(m.shape).dump() +
                            " differs from the running pipeline's " + json(running.shape).dump());
  if (m.is_tree() && running.tree && m.tree) NNBPF_CHECK(check_tree_layout(*running.tree, *m.tree));
  for (size_t l = 0; l < m.layers.size() && l < running.layers.size(); ++l)
    if (running.layers[l].relu != m.layers[l].relu)
      return Error::bad_input("update refused: layer " + std::to_string(l) + " activation differs");
  if (running.params.bytes_per_slot != m.params.bytes_per_slot)
    return Error::bad_input("update refused: parameter layout differs");
  return ok_status();
}

namespace {

// The idle slot's parameters and policy written, then the flip: one atomic
// word; new inferences read the new slot, running ones finish on the slot
// they pinned at their start. A failure leaves the running model unchanged.
Status write_and_flip(int params_fd, int policy_fd, int idx_fd, uint32_t new_slot, const std::vector<uint8_t>& bytes,
                      const nnbpf_policy& policy) {
  if (bpf_map_update_elem(params_fd, &new_slot, bytes.data(), BPF_ANY))
    return Error::runtime(std::string(NNBPF_MAP_PARAMS) + ": cannot write slot " + std::to_string(new_slot) +
                          ": " + std::strerror(errno) + " (running model unchanged)");
  if (bpf_map_update_elem(policy_fd, &new_slot, &policy, BPF_ANY))
    return Error::runtime(std::string(NNBPF_MAP_POLICY) + ": cannot write slot " + std::to_string(new_slot) +
                          ": " + std::strerror(errno) + " (running model unchanged)");
  const uint32_t zero = 0;
  if (bpf_map_update_elem(idx_fd, &zero, &new_slot, BPF_ANY))
    return Error::runtime(std::string(NNBPF_MAP_PARAM_IDX) + ": cannot flip: " + std::strerror(errno) +
                          " (running model unchanged)");
  return ok_status();
}

}  // namespace

Result<UpdateReport> hot_update(const std::string& iface, const compiler::Artifact& next) {
  NNBPF_TRY(running, running_manifest(iface));
  NNBPF_CHECK(check_compatible(running, next));
  NNBPF_TRY(pfd, open_pinned(iface, NNBPF_MAP_PARAMS));
  Fd params(pfd);
  NNBPF_TRY(ifd, open_pinned(iface, NNBPF_MAP_PARAM_IDX));
  Fd idx(ifd);
  NNBPF_TRY(sfd, open_pinned(iface, NNBPF_MAP_SCRATCH));
  Fd scratch(sfd);
  // The new model's policy (domain, classes, margin, ranges) under the
  // running options; it goes into the idle slot's policy with the parameters.
  NNBPF_TRY(popts, running_policy(iface));
  NNBPF_TRY(next_policy, slot_policy(next.manifest, popts));
  NNBPF_TRY(polfd, open_pinned(iface, NNBPF_MAP_POLICY));
  Fd policy(polfd);

  UpdateReport r;
  uint32_t zero = 0, running_slot = 0;
  if (bpf_map_lookup_elem(idx.fd, &zero, &running_slot))
    return Error::runtime(std::string(NNBPF_MAP_PARAM_IDX) + ": " + std::strerror(errno));
  running_slot &= 1;
  r.old_slot = running_slot;
  r.new_slot = running_slot ^ 1;  // formula (6)

  size_t slot_bytes = running.params.bytes_per_slot;
  std::vector<uint8_t> cur(slot_bytes);
  if (bpf_map_lookup_elem(params.fd, &running_slot, cur.data()))
    return Error::runtime(std::string(NNBPF_MAP_PARAMS) + ": " + std::strerror(errno));
  nnbpf_params_hdr hdr;
  std::memcpy(&hdr, cur.data(), sizeof hdr);
  r.old_digest = hex(hdr.digest, 32);

  std::vector<uint8_t> bytes = compiler::serialize_params(next.model, hdr.generation + 1);
  if (bytes.size() != slot_bytes) return Error::bad_input("update refused: parameter slot size differs");
  r.new_digest = next.model.digest;
  r.generation = hdr.generation + 1;

  // Grace period: the idle slot was Running before the last flip; an
  // inference that started then may still read it. Wait for every CPU that is
  // inside an inference to leave it before rewriting the slot.
  auto t0 = std::chrono::steady_clock::now();
  NNBPF_CHECK(wait_grace_period(scratch.fd, 2000));
  r.grace_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  NNBPF_CHECK(write_and_flip(params.fd, policy.fd, idx.fd, r.new_slot, bytes, next_policy));
  // Record the running model for the next update and for stats.
  std::ofstream(state_dir(iface) + "/manifest.json") << compiler::manifest_text(next.manifest);
  return r;
}

uint64_t Stats::counter(uint32_t stat) const { return stat < counters.size() ? counters[stat] : 0; }

nlohmann::json Stats::to_json() const {
  // `nnbpf stats --json` keys (docs/stats.md) of the kernel's counters.
  static const std::pair<const char*, uint32_t> kCounterKeys[] = {
      {"packets_seen", NNBPF_STAT_PKTS},           {"packets_passed", NNBPF_STAT_PASSED},
      {"packets_dropped", NNBPF_STAT_DROPPED},     {"packets_not_ip", NNBPF_STAT_NOT_IP},
      {"flows_new", NNBPF_STAT_FLOWS_NEW},         {"flows_ended", NNBPF_STAT_FLOWS_ENDED},
      {"inferences", NNBPF_STAT_INFERENCES},       {"intrusions", NNBPF_STAT_INTRUSIONS},
      {"blocks", NNBPF_STAT_BLOCKS},               {"intrusions_allowlisted", NNBPF_STAT_ALLOWED},
      {"blocks_expired", NNBPF_STAT_EXPIRED},      {"events_lost", NNBPF_STAT_EVENTS_LOST},
      {"flow_insert_failures", NNBPF_STAT_FLOW_FULL}, {"packets_after_close", NNBPF_STAT_AFTER_CLOSE},
      {"flows_out_of_domain", NNBPF_STAT_OUT_OF_DOMAIN}, {"flows_unsure", NNBPF_STAT_UNSURE},
      {"intrusions_evidence", NNBPF_STAT_EVIDENCE},
  };
  nlohmann::json j;
  j["iface"] = iface;
  for (const auto& [key, stat] : kCounterKeys) j[key] = counter(stat);
  j["flows_tracked"] = flows_tracked;
  j["flows_capacity"] = flows_capacity;
  j["flows_evicted"] = flows_evicted();
  j["blocks_active"] = blocks_active;
  if (!model_digest.empty()) {
    j["model_digest"] = model_digest;
    j["param_generation"] = param_generation;
  }
  j["param_slot"] = param_slot;
  j["inference_errors"] = inference_errors;
  return j;
}

uint64_t Stats::flows_evicted() const {
  const uint64_t gone = counter(NNBPF_STAT_FLOWS_ENDED) + counter(NNBPF_STAT_OUT_OF_DOMAIN) + flows_tracked;
  const uint64_t fresh = counter(NNBPF_STAT_FLOWS_NEW);
  return fresh >= gone ? fresh - gone : 0;
}

Result<Stats> read_stats(const std::string& iface) {
  Stats st;
  st.iface = iface;
  NNBPF_TRY(sfd, open_pinned(iface, NNBPF_MAP_STATS));
  Fd stats(sfd);
  bpf_map_info info{};
  uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(stats.fd, &info, &len))
    return Error::runtime(std::string(NNBPF_MAP_STATS) + ": " + std::strerror(errno));
  st.counters = percpu_sums(stats.fd, info.max_entries);  // an older object may count fewer
  if (st.counters.empty()) return Error::runtime("cannot count possible CPUs");

  NNBPF_TRY(ffd, open_pinned(iface, NNBPF_MAP_FLOWS));
  Fd flows(ffd);
  st.flows_tracked = for_each_key<nnbpf_flow_key>(flows.fd, 1u << 24, [](const nnbpf_flow_key&) {});
  bpf_map_info finfo{};
  len = sizeof finfo;
  if (bpf_obj_get_info_by_fd(flows.fd, &finfo, &len) == 0) st.flows_capacity = finfo.max_entries;

  NNBPF_TRY(bfd, open_pinned(iface, NNBPF_MAP_BLOCKED));
  Fd blocked(bfd);
  const uint64_t now = ktime_now_ns();
  for_each_entry<nnbpf_addr, nnbpf_block>(blocked.fd, NNBPF_MAX_BLOCKED, [&](const nnbpf_addr&, const nnbpf_block& b) {
    if (b.expires_ns == 0 || b.expires_ns > now) ++st.blocks_active;
  });

  NNBPF_TRY(ifd, open_pinned(iface, NNBPF_MAP_PARAM_IDX));
  Fd idx(ifd);
  NNBPF_TRY(pfd, open_pinned(iface, NNBPF_MAP_PARAMS));
  Fd params(pfd);
  uint32_t zero = 0, slot = 0;
  bpf_map_lookup_elem(idx.fd, &zero, &slot);
  st.param_slot = slot & 1;
  bpf_map_info pinfo{};
  len = sizeof pinfo;
  bpf_obj_get_info_by_fd(params.fd, &pinfo, &len);
  std::vector<uint8_t> buf(pinfo.value_size);
  if (buf.size() >= sizeof(nnbpf_params_hdr) && bpf_map_lookup_elem(params.fd, &st.param_slot, buf.data()) == 0) {
    nnbpf_params_hdr hdr;
    std::memcpy(&hdr, buf.data(), sizeof hdr);
    st.model_digest = hex(hdr.digest, 32);
    st.param_generation = hdr.generation;
  }

  NNBPF_TRY(efd, open_pinned(iface, NNBPF_MAP_ERRORS));
  Fd errs(efd);
  for (uint64_t e : percpu_sums(errs.fd, NNBPF_ERR_MAX)) st.inference_errors += e;
  return st;
}

namespace {

struct Snapshot {
  std::vector<ProgramRunStat> progs;
  uint64_t chain_ns = 0;
  uint64_t chain_runs = 0;
  std::chrono::steady_clock::time_point at;
};

bool prog_counters(int fd, ProgramRunStat* c) {
  bpf_prog_info info{};
  uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(fd, &info, &len)) return false;
  c->id = info.id;
  c->run_cnt = info.run_cnt;
  c->run_time_ns = info.run_time_ns;
  return true;
}


Result<Snapshot> snapshot(const std::string& iface) {
  Snapshot s;
  for (const char* name : {NNBPF_PROG_XDP_NAME, NNBPF_PROG_SWEEP_NAME, NNBPF_PROG_SWEEP_SCAN_NAME}) {
    NNBPF_TRY(fd, open_pinned(iface, name));
    Fd f(fd);
    ProgramRunStat c;
    c.name = name;
    if (!prog_counters(f.fd, &c)) return Error::runtime(std::string(name) + ": " + std::strerror(errno));
    s.progs.push_back(c);
  }
  // A prog array's user-space lookup yields the program's id.
  NNBPF_TRY(pfd, open_pinned(iface, NNBPF_MAP_PROGS));
  Fd progs(pfd);
  for (uint32_t slot = 0; slot < NNBPF_PROG_ARRAY_SIZE; ++slot) {
    uint32_t id = 0;
    if (bpf_map_lookup_elem(progs.fd, &slot, &id)) continue;
    Fd f(bpf_prog_get_fd_by_id(id));
    if (f.fd < 0) continue;
    ProgramRunStat c;
    c.slot = slot;
    c.name = slot == NNBPF_PROG_FINISH_FLOW   ? NNBPF_PROG_FLOW_FINISH_NAME
             : slot == NNBPF_PROG_FINISH_TEST ? NNBPF_PROG_TEST_FINISH_NAME
                                              : NNBPF_PROG_STAGE_PREFIX + std::to_string(slot - NNBPF_PROG_STAGE0);
    if (prog_counters(f.fd, &c)) s.progs.push_back(c);
  }
  NNBPF_TRY(sfd, open_pinned(iface, NNBPF_MAP_STATS));
  Fd stats(sfd);
  s.chain_ns = percpu_sum(stats.fd, NNBPF_STAT_CHAIN_NS);
  s.chain_runs = percpu_sum(stats.fd, NNBPF_STAT_CHAIN_RUNS);
  s.at = std::chrono::steady_clock::now();
  return s;
}

}  // namespace

Result<ProgramRunStats> read_program_stats(const std::string& iface, double interval_s) {
  Snapshot before;
  int stats_fd = -1;
  if (interval_s > 0) {
    stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
    if (stats_fd < 0) return Error::runtime(std::string("cannot enable BPF run-time statistics: ") + std::strerror(errno));
    auto b = snapshot(iface);
    if (!b) {
      close(stats_fd);
      return b.error();
    }
    before = *b;
    std::this_thread::sleep_for(std::chrono::duration<double>(interval_s));
  }
  auto after = snapshot(iface);
  if (stats_fd >= 0) close(stats_fd);
  if (!after) return after.error();
  ProgramRunStats r;
  r.iface = iface;
  r.interval_s = interval_s > 0 ? std::chrono::duration<double>(after->at - before.at).count() : 0.0;
  uint64_t xdp_ns = 0;
  for (ProgramRunStat p : after->progs) {
    for (const auto& b : before.progs)
      if (b.id == p.id && b.name == p.name) {
        p.run_cnt -= b.run_cnt;
        p.run_time_ns -= b.run_time_ns;
      }
    r.bpf_run_time_ns += p.run_time_ns;
    if (p.name == NNBPF_PROG_XDP_NAME) {
      xdp_ns = p.run_time_ns;
      r.packets = p.run_cnt;
    }
    r.programs.push_back(p);
  }
  // Tail-called programs are not accounted separately by the kernel: their
  // time is part of nnbpf_xdp's run_time_ns. The pipeline sums the time of
  // the inference chains packets start (NNBPF_STAT_CHAIN_NS), which splits
  // nnbpf_xdp's time into extraction and inference.
  r.chain_ns = after->chain_ns - before.chain_ns;
  r.inferences_in_packets = after->chain_runs - before.chain_runs;
  r.ns_per_packet = r.packets ? static_cast<double>(xdp_ns) / r.packets : 0.0;
  r.fepp_ns = r.packets && xdp_ns >= r.chain_ns ? static_cast<double>(xdp_ns - r.chain_ns) / r.packets : 0.0;
  r.ipf_ns = r.inferences_in_packets ? static_cast<double>(r.chain_ns) / r.inferences_in_packets : 0.0;
  if (interval_s > 0) {
    double wall = r.interval_s * 1e9;
    r.cpus = sysconf(_SC_NPROCESSORS_ONLN);
    r.cpu_share = wall > 0 && r.cpus > 0 ? static_cast<double>(r.bpf_run_time_ns) / (wall * r.cpus) : 0.0;
  }
  return r;
}

nlohmann::json ProgramRunStats::to_json() const {
  using nlohmann::json;
  json arr = json::array();
  for (const auto& p : programs) {
    json o = {{"name", p.name}, {"id", p.id}, {"run_cnt", p.run_cnt}, {"run_time_ns", p.run_time_ns},
              {"ns_per_run", p.ns_per_run()}};
    if (p.slot >= 0) o["slot"] = p.slot;
    arr.push_back(o);
  }
  json j = {{"iface", iface},
            {"interval_s", interval_s},
            {"programs", arr},
            {"packets", packets},
            {"ns_per_packet", ns_per_packet},
            {"inferences_in_packets", inferences_in_packets},
            {"chain_ns", chain_ns},
            {"fepp_ns", fepp_ns},
            {"ipf_ns", ipf_ns},
            {"bpf_run_time_ns", bpf_run_time_ns}};
  if (interval_s > 0) {
    j["cpus"] = cpus;
    j["cpu_share"] = cpu_share;
  }
  return j;
}

}  // namespace nnbpf::runtime
