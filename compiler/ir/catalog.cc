#include "compiler/ir/catalog.h"

#include <string>

namespace nnbpf {

const std::vector<FeatureInfo>& feature_catalog() {
  static const std::vector<FeatureInfo> table = {
#define NNBPF_FEATURE(id, name, lo, hi, table_iv, desc) {id, #name, lo, hi, table_iv, desc},
#include "nnbpf/catalog.def"
#undef NNBPF_FEATURE
  };
  return table;
}

std::optional<FeatureInfo> find_feature(std::string_view name) {
  for (const auto& f : feature_catalog())
    if (f.name == name) return f;
  return std::nullopt;
}

std::string feature_names_list() {
  std::string out;
  for (const auto& f : feature_catalog()) {
    if (!out.empty()) out += ", ";
    out += f.name;
  }
  return out;
}

}  // namespace nnbpf
