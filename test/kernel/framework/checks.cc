#include "test/kernel/framework/checks.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "compiler/interp/reference.h"

namespace nnbpf::testing {

bool same_key(const nnbpf_flow_key& a, const nnbpf_flow_key& b) { return std::memcmp(&a, &b, sizeof a) == 0; }

int feature_index(const compiler::Artifact& a, const std::string& name) {
  const auto& f = a.model.features;
  auto it = std::find(f.begin(), f.end(), name);
  return it == f.end() ? -1 : static_cast<int>(it - f.begin());
}

uint64_t feature(const compiler::Artifact& a, const nnbpf_event& e, const std::string& name) {
  int i = feature_index(a, name);
  EXPECT_GE(i, 0) << name;
  return i < 0 ? 0 : e.feat[i];
}

void expect_reference(const compiler::QuantModel& m, const nnbpf_event& e) {
  ASSERT_EQ(e.n_features, static_cast<uint32_t>(m.n_inputs()));
  ASSERT_EQ(e.n_outputs, static_cast<uint32_t>(m.n_outputs()));
  auto ref = compiler::run_reference(m, std::vector<uint64_t>(e.feat, e.feat + e.n_features));
  for (int i = 0; i < m.n_outputs(); ++i) EXPECT_EQ(e.logits[i], ref.logits[i]) << "logit " << i;
  EXPECT_EQ(e.verdict, ref.verdict);
}

}  // namespace nnbpf::testing
