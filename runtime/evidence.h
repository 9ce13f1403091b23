// The blocking policy of a running pipeline (docs/run.md, "Blocking
// policy"): the load-time tunables of the evidence step (window, K, share,
// prefixes, TTL doubling, abstention), the per-slot model policy derived from
// a manifest (domain, evidence classes, margin floor, data ranges), the
// policy file that nnbpf update reads, and the evidence map as user space
// sees it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "compiler/driver/manifest.h"
#include "compiler/support/result.h"
#include "nnbpf/abi.h"

namespace nnbpf::runtime {

struct PolicyOptions {
  uint64_t window_ns = 10ull * 1000000000ull;
  uint32_t block_after = 3;
  double min_share = 0.5;
  std::optional<double> min_margin;                 // --min-margin; default: the manifest's min_margin
  uint32_t prefix_v4 = 32;
  uint32_t prefix_v6 = 64;
  uint64_t block_ttl_max_ns = 3600ull * 1000000000ull;
  std::optional<std::vector<std::string>> block_classes;  // default: every class but the first
  bool abstain = false;                             // --abstain-outside-ranges
};

// Range checks; a one-line error naming the option.
Status validate_policy(const PolicyOptions& p);

// Fills the evidence tunables of `cfg` (the TTL, monitor and every-N are the
// caller's).
void apply_policy(const PolicyOptions& p, nnbpf_config* cfg);

// The per-slot policy of the model described by `manifest` under `p`:
// protocols -> proto_out, classes -> class_ignore (names checked against
// manifest classes), min_margin -> integer (round(M * 2^logit_frac_bits)),
// data ranges. `summary` (optional) receives a one-line description.
Result<nnbpf_policy> slot_policy(const compiler::Manifest& manifest, const PolicyOptions& p,
                                 std::string* summary = nullptr);

// STATE_DIR/policy.json: the options nnbpf update and hosts need.
nlohmann::json policy_to_json(const PolicyOptions& p);
Result<PolicyOptions> policy_from_json(const nlohmann::json& j);
Result<PolicyOptions> running_policy(const std::string& iface);

// The prefix key (bits past the configured prefix zeroed) and its 128-bit
// prefix length for a 16-byte address.
uint32_t prefix_key(const uint8_t addr[16], const PolicyOptions& p, uint8_t out[16]);
// "10.0.0.0/24", "2001:db8::/64", "10.0.0.5" (a whole address).
std::string format_prefix(const uint8_t a[16], uint32_t prefixlen128);

struct EvidenceEntry {
  std::string prefix;
  uint32_t hits = 0;     // in the window now
  uint32_t flows = 0;
  uint32_t unsure = 0;
  uint32_t blocks = 0;   // model blocks so far
  uint64_t age_ns = 0;   // since the last classified flow
  double last_margin = 0;  // float units
  uint64_t last_ttl_ns = 0;
  bool blocked = false;
};

// Sources with evidence; `include_blocked` false leaves blocked ones out.
Result<std::vector<EvidenceEntry>> evidence_list(const std::string& iface, bool include_blocked);
// Deletes the evidence of the prefix holding `addr` (false if none).
Result<bool> evidence_del(const std::string& iface, const uint8_t addr[16]);
// Copies every evidence entry of the old pipeline's pinned map into `new_fd`.
size_t copy_evidence(int old_fd, int new_fd);

}  // namespace nnbpf::runtime
