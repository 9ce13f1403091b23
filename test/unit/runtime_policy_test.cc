// The per-slot model policy nnbpf run and nnbpf update write
// (runtime/evidence.h): domain, evidence classes, margin in integer logits,
// data ranges; and the prefix keys of the evidence map.
#include <gtest/gtest.h>

#include <cstring>

#include "runtime/evidence.h"
#include "runtime/pins.h"

namespace nnbpf::runtime {
namespace {

using compiler::Manifest;

// The fields slot_policy reads; `protocols` empty = null (every protocol).
Manifest manifest(std::vector<std::string> protocols, std::vector<std::string> classes) {
  Manifest m;
  if (!protocols.empty()) m.protocols = protocols;
  m.classes = classes;
  m.shape = {6, 4, classes.empty() ? 2 : static_cast<int64_t>(classes.size())};
  m.quant.b = 10;
  m.quant.logit_frac_bits = 10;
  for (uint64_t j = 0; j < 6; ++j) m.inputs.push_back({"x" + std::to_string(j), 0, 1000, j, 100 + j});
  return m;
}

TEST(RuntimePolicy, DomainFromTheManifest) {
  PolicyOptions p;
  auto all = slot_policy(manifest({}, {}), p);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->proto_out, 0u);
  auto tcp = slot_policy(manifest({"tcp"}, {}), p);
  ASSERT_TRUE(tcp);
  EXPECT_EQ(tcp->proto_out, static_cast<uint32_t>(NNBPF_PROTO_OUT_UDP));
  auto both = slot_policy(manifest({"tcp", "udp"}, {}), p);
  ASSERT_TRUE(both);
  EXPECT_EQ(both->proto_out, 0u);
  auto bad = slot_policy(manifest({"icmp"}, {}), p);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("unknown protocol 'icmp'"), std::string::npos);
}

TEST(RuntimePolicy, BlockClassesByName) {
  auto m = manifest({}, {"benign", "scan", "brute_force", "dos"});
  PolicyOptions p;
  auto def = slot_policy(m, p);
  ASSERT_TRUE(def);
  EXPECT_EQ(def->class_ignore & 0xf, 1u) << "default: every class but the first counts";
  p.block_classes = std::vector<std::string>{"dos", "scan"};
  auto two = slot_policy(m, p);
  ASSERT_TRUE(two);
  EXPECT_EQ(two->class_ignore & 0xf, 1u | 4u) << "brute_force ignored";
  p.block_classes = std::vector<std::string>{"ddos"};
  auto bad = slot_policy(m, p);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("--block-classes: the model has no class 'ddos'"), std::string::npos);
  p.block_classes = std::vector<std::string>{"benign"};
  EXPECT_FALSE(slot_policy(m, p));
  EXPECT_EQ(manifest({}, {}).class_names(), (std::vector<std::string>{"benign", "intrusion"}));
  EXPECT_EQ(manifest({}, {"a", "b", "c"}).class_names(), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(RuntimePolicy, MarginInIntegerLogits) {
  auto m = manifest({}, {});
  PolicyOptions p;
  auto none = slot_policy(m, p);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->flags & NNBPF_POLICY_MARGIN, 0u);
  m.min_margin = 0.5;  // the model's operating point: round(0.5 * 2^10)
  auto from_model = slot_policy(m, p);
  ASSERT_TRUE(from_model);
  EXPECT_TRUE(from_model->flags & NNBPF_POLICY_MARGIN);
  EXPECT_EQ(from_model->min_margin, 512);
  p.min_margin = 1.25;  // --min-margin wins
  m.quant.logit_frac_bits = 4;  // in units of 2^-logit_frac_bits (not quant.b)
  auto flag = slot_policy(m, p);
  ASSERT_TRUE(flag);
  EXPECT_EQ(flag->min_margin, 20);
}

TEST(RuntimePolicy, RangesOnlyWhenAbstaining) {
  auto m = manifest({}, {});
  PolicyOptions p;
  auto off = slot_policy(m, p);
  ASSERT_TRUE(off);
  EXPECT_EQ(off->flags & NNBPF_POLICY_RANGES, 0u);
  p.abstain = true;
  auto on = slot_policy(m, p);
  ASSERT_TRUE(on);
  EXPECT_TRUE(on->flags & NNBPF_POLICY_RANGES);
  EXPECT_EQ(on->data_lo[3], 3u);
  EXPECT_EQ(on->data_hi[5], 105u);
  m.inputs[0].data_lo.reset();
  EXPECT_FALSE(slot_policy(m, p));
}

TEST(RuntimePolicy, PrefixKeys) {
  PolicyOptions p;
  p.prefix_v4 = 24;
  p.prefix_v6 = 64;
  auto a4 = parse_addr("10.1.2.77");
  ASSERT_TRUE(a4);
  uint8_t k[16];
  EXPECT_EQ(prefix_key(a4->data(), p, k), 96u + 24);
  EXPECT_EQ(format_prefix(k, 96 + 24), "10.1.2.0/24");
  auto a6 = parse_addr("2001:db8:1:2:aaaa::99");
  ASSERT_TRUE(a6);
  EXPECT_EQ(prefix_key(a6->data(), p, k), 64u);
  EXPECT_EQ(format_prefix(k, 64), "2001:db8:1:2::/64");
  EXPECT_EQ(format_prefix(a6->data(), 128), "2001:db8:1:2:aaaa::99");
  EXPECT_TRUE(validate_policy(p));
  p.min_share = 1.5;
  EXPECT_FALSE(validate_policy(p));
}

TEST(RuntimePolicy, PolicyFileRoundTrip) {
  PolicyOptions p;
  p.min_margin = 0.75;
  p.block_classes = std::vector<std::string>{"dos"};
  p.abstain = true;
  auto back = policy_from_json(policy_to_json(p));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->block_after, 3u);
  EXPECT_EQ(*back->min_margin, 0.75);
  EXPECT_EQ(back->block_classes->at(0), "dos");
  EXPECT_TRUE(back->abstain);
  EXPECT_EQ(back->prefix_v6, 64u);
}

}  // namespace
}  // namespace nnbpf::runtime
