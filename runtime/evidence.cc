#include "runtime/evidence.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "runtime/control.h"
#include "runtime/map_iter.h"
#include "runtime/pins.h"
#include "runtime/util.h"

namespace nnbpf::runtime {

using nlohmann::json;

Status validate_policy(const PolicyOptions& p) {
  if (p.window_ns < NNBPF_EV_BUCKETS) return Error::bad_input("--window must be at least 8 ns (e.g. 10s)");
  if (p.block_after < 1 || p.block_after > 65535) return Error::bad_input("--block-after must be 1..65535");
  if (!(p.min_share >= 0 && p.min_share <= 1)) return Error::bad_input("--min-share must be 0..1");
  if (p.prefix_v4 < 1 || p.prefix_v4 > 32) return Error::bad_input("--block-prefix-v4 must be 1..32");
  if (p.prefix_v6 < 1 || p.prefix_v6 > 128) return Error::bad_input("--block-prefix-v6 must be 1..128");
  if (p.min_margin && !std::isfinite(*p.min_margin)) return Error::bad_input("--min-margin must be a number");
  return ok_status();
}

void apply_policy(const PolicyOptions& p, nnbpf_config* cfg) {
  cfg->window_ns = p.window_ns;
  cfg->block_after = p.block_after;
  cfg->min_share_milli = static_cast<uint32_t>(std::lround(p.min_share * 1000));
  cfg->prefix_v4 = p.prefix_v4;
  cfg->prefix_v6 = p.prefix_v6;
  cfg->block_ttl_max_ns = p.block_ttl_max_ns;
  cfg->abstain = p.abstain ? 1 : 0;
}

namespace {

// Domain: the protocols the model judges; the others leave the slot unjudged.
Status domain_policy(const compiler::Manifest& m, nnbpf_policy* pol, std::ostringstream& why) {
  if (!m.protocols) {
    why << "judges every protocol (the model declares none)";
    return ok_status();
  }
  bool tcp = false, udp = false;
  for (const std::string& s : *m.protocols) {
    if (s == "tcp") tcp = true;
    else if (s == "udp") udp = true;
    else return Error::bad_input("manifest: unknown protocol '" + s + "' in \"protocols\"");
  }
  if (!tcp) pol->proto_out |= NNBPF_PROTO_OUT_TCP;
  if (!udp) pol->proto_out |= NNBPF_PROTO_OUT_UDP;
  why << "judges " << (tcp && udp ? "tcp,udp" : tcp ? "tcp" : udp ? "udp" : "nothing") << " flows";
  return ok_status();
}

// Classes that count as evidence: --block-classes by name, or every class but
// the first (benign).
Status class_policy(const std::vector<std::string>& classes, const PolicyOptions& p, nnbpf_policy* pol,
                    std::ostringstream& why) {
  pol->class_ignore = 1;  // class 0 is benign
  if (p.block_classes) {
    uint32_t keep = 0;
    for (const auto& c : *p.block_classes) {
      auto it = std::find(classes.begin(), classes.end(), c);
      if (it == classes.end()) {
        std::string all;
        for (const auto& n : classes) all += (all.empty() ? "" : ",") + n;
        return Error::bad_input("--block-classes: the model has no class '" + c + "' (classes: " + all + ")");
      }
      if (it == classes.begin())
        return Error::bad_input("--block-classes: '" + c + "' is the model's benign class (the first)");
      keep |= 1u << (it - classes.begin());
    }
    pol->class_ignore = ~keep;
  }
  std::string counted;
  for (size_t i = 1; i < classes.size() && i < 32; ++i)
    if (!((pol->class_ignore >> i) & 1)) counted += (counted.empty() ? "" : ",") + classes[i];
  why << "; evidence: " << (counted.empty() ? "none" : counted);
  return ok_status();
}

// Margin floor: --min-margin, else the model's min_margin, in integer logits.
Status margin_policy(const compiler::Manifest& m, const PolicyOptions& p, nnbpf_policy* pol,
                     std::ostringstream& why) {
  std::optional<double> margin = p.min_margin;
  const char* margin_from = "--min-margin";
  if (!margin && m.min_margin) {
    margin = m.min_margin;
    margin_from = "the model's min_margin";
  }
  if (!margin) return ok_status();
  double scaled = std::round(*margin * m.logit_units());
  if (!(std::fabs(scaled) < 9.2e18)) return Error::bad_input("--min-margin: out of range for the model's logits");
  pol->flags |= NNBPF_POLICY_MARGIN;
  pol->min_margin = static_cast<int64_t>(scaled);
  why << " with margin >= " << *margin << " (" << margin_from << ", " << pol->min_margin << " in integer logits)";
  return ok_status();
}

// Data ranges for --abstain-outside-ranges.
Status range_policy(const compiler::Manifest& m, nnbpf_policy* pol, std::ostringstream& why) {
  const auto& ins = m.inputs;
  size_t n = std::min<size_t>(ins.size(), NNBPF_MAX_FEATURES);
  bool have = n > 0;
  for (size_t j = 0; j < n; ++j)
    if (!ins[j].data_lo || !ins[j].data_hi) have = false;
  if (!have)
    return Error::bad_input("--abstain-outside-ranges: the manifest has no data_lo/data_hi ranges (a tree model "
                            "or an old manifest)");
  for (size_t j = 0; j < n; ++j) {
    pol->data_lo[j] = *ins[j].data_lo;
    pol->data_hi[j] = *ins[j].data_hi;
  }
  pol->flags |= NNBPF_POLICY_RANGES;
  why << "; unsure outside the training ranges";
  return ok_status();
}

}  // namespace

Result<nnbpf_policy> slot_policy(const compiler::Manifest& m, const PolicyOptions& p, std::string* summary) {
  nnbpf_policy pol{};
  std::ostringstream why;
  NNBPF_CHECK(domain_policy(m, &pol, why));
  NNBPF_CHECK(class_policy(m.class_names(), p, &pol, why));
  NNBPF_CHECK(margin_policy(m, p, &pol, why));
  if (p.abstain) NNBPF_CHECK(range_policy(m, &pol, why));
  if (summary) *summary = why.str();
  return pol;
}

json policy_to_json(const PolicyOptions& p) {
  json j;
  j["window_ns"] = p.window_ns;
  j["block_after"] = p.block_after;
  j["min_share"] = p.min_share;
  j["min_margin"] = p.min_margin ? json(*p.min_margin) : json(nullptr);
  j["prefix_v4"] = p.prefix_v4;
  j["prefix_v6"] = p.prefix_v6;
  j["block_ttl_max_ns"] = p.block_ttl_max_ns;
  j["block_classes"] = p.block_classes ? json(*p.block_classes) : json(nullptr);
  j["abstain_outside_ranges"] = p.abstain;
  return j;
}

Result<PolicyOptions> policy_from_json(const json& j) {
  PolicyOptions p;
  try {
    p.window_ns = j.at("window_ns").get<uint64_t>();
    p.block_after = j.at("block_after").get<uint32_t>();
    p.min_share = j.at("min_share").get<double>();
    if (!j.at("min_margin").is_null()) p.min_margin = j["min_margin"].get<double>();
    p.prefix_v4 = j.at("prefix_v4").get<uint32_t>();
    p.prefix_v6 = j.at("prefix_v6").get<uint32_t>();
    p.block_ttl_max_ns = j.at("block_ttl_max_ns").get<uint64_t>();
    if (!j.at("block_classes").is_null()) p.block_classes = j["block_classes"].get<std::vector<std::string>>();
    p.abstain = j.at("abstain_outside_ranges").get<bool>();
  } catch (const std::exception& e) {
    return Error::runtime(std::string("policy.json: malformed: ") + e.what());
  }
  return p;
}

Result<PolicyOptions> running_policy(const std::string& iface) {
  std::string path = state_dir(iface) + "/policy.json";
  std::ifstream in(path);
  if (!in) return Error::runtime("no nnbpf pipeline on " + iface + " (" + path + " missing)");
  try {
    return policy_from_json(json::parse(in));
  } catch (const std::exception& e) {
    return Error::runtime(path + ": " + e.what());
  }
}

uint32_t prefix_key(const uint8_t addr[16], const PolicyOptions& p, uint8_t out[16]) {
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  bool v4 = std::memcmp(addr, mapped, 12) == 0;
  uint32_t plen = v4 ? 96 + p.prefix_v4 : p.prefix_v6;
  std::memcpy(out, addr, 16);
  for (uint32_t bit = plen; bit < 128; ++bit) out[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  return plen;
}

std::string format_prefix(const uint8_t a[16], uint32_t plen) {
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (plen == 0 || plen >= 128) return format_addr(a);
  bool v4 = std::memcmp(a, mapped, 12) == 0;
  return format_addr(a) + "/" + std::to_string(v4 ? plen - 96 : plen);
}

Result<std::vector<EvidenceEntry>> evidence_list(const std::string& iface, bool include_blocked) {
  NNBPF_TRY(pol, running_policy(iface));
  NNBPF_TRY(efd, open_pinned(iface, NNBPF_MAP_EVIDENCE));
  Fd ev(efd);
  NNBPF_TRY(bfd, open_pinned(iface, NNBPF_MAP_BLOCKED));
  Fd blocked(bfd);
  double scale = 1;
  if (auto man = running_manifest(iface)) scale = man->logit_units();
  uint64_t now = ktime_now_ns();
  uint64_t step = std::max<uint64_t>(pol.window_ns / NNBPF_EV_BUCKETS, 1);
  uint32_t epoch = static_cast<uint32_t>(now / step);
  std::vector<EvidenceEntry> out;
  for_each_entry<nnbpf_addr, nnbpf_evidence>(ev.fd, NNBPF_MAX_EVIDENCE, [&](const nnbpf_addr& key, const nnbpf_evidence& v) {
    EvidenceEntry e;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    bool v4 = std::memcmp(key.a, mapped, 12) == 0;
    e.prefix = format_prefix(key.a, v4 ? 96 + pol.prefix_v4 : pol.prefix_v6);
    for (const auto& b : v.b)
      if (epoch - b.epoch < NNBPF_EV_BUCKETS) {
        e.hits += b.hits;
        e.flows += b.flows;
      }
    e.unsure = v.unsure;
    e.blocks = v.blocks;
    e.age_ns = now > v.last_ns ? now - v.last_ns : 0;
    e.last_margin = static_cast<double>(v.last_margin) / scale;
    e.last_ttl_ns = v.last_ttl_ns;
    nnbpf_block bv{};
    e.blocked = bpf_map_lookup_elem(blocked.fd, &key, &bv) == 0 && (bv.expires_ns == 0 || bv.expires_ns > now);
    if (include_blocked || !e.blocked) out.push_back(e);
  });
  return out;
}

Result<bool> evidence_del(const std::string& iface, const uint8_t addr[16]) {
  NNBPF_TRY(pol, running_policy(iface));
  NNBPF_TRY(efd, open_pinned(iface, NNBPF_MAP_EVIDENCE));
  Fd ev(efd);
  nnbpf_addr k{};
  prefix_key(addr, pol, k.a);
  return bpf_map_delete_elem(ev.fd, &k) == 0;
}

size_t copy_evidence(int old_fd, int new_fd) {
  size_t n = 0;
  for_each_entry<nnbpf_addr, nnbpf_evidence>(old_fd, NNBPF_MAX_EVIDENCE, [&](const nnbpf_addr& k, const nnbpf_evidence& v) {
    if (bpf_map_update_elem(new_fd, &k, &v, BPF_ANY) == 0) ++n;
  });
  return n;
}

}  // namespace nnbpf::runtime
