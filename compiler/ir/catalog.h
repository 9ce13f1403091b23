// C++ view of the feature catalog (bpf_rt/include/nnbpf/catalog.def).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace nnbpf {

struct FeatureInfo {
  int id;
  std::string_view name;
  uint64_t lo;
  uint64_t hi;
  int table_iv;
  std::string_view description;
};

// All catalog entries in id order.
const std::vector<FeatureInfo>& feature_catalog();
// Entry by catalog name, or nullopt.
std::optional<FeatureInfo> find_feature(std::string_view name);
// "a, b, c" list of all names, for error messages.
std::string feature_names_list();

}  // namespace nnbpf
