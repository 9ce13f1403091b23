#include "compiler/driver/model_policy.h"

#include <cmath>
#include <cstdlib>

namespace nnbpf::compiler {

namespace {

constexpr const char* kProtocolsKey = "nnbpf.protocols";
constexpr const char* kClassesKey = "nnbpf.classes";
constexpr const char* kMinMarginKey = "nnbpf.min_margin";

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t c = text.find(',', start);
    out.push_back(trim(text.substr(start, c == std::string::npos ? std::string::npos : c - start)));
    if (c == std::string::npos) break;
    start = c + 1;
  }
  return out;
}

}  // namespace

Result<std::vector<std::string>> parse_protocols(const std::string& text, const std::string& where) {
  bool tcp = false, udp = false;
  for (const auto& p : split_commas(text)) {
    std::string l;
    for (char ch : p) l += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (l == "tcp") tcp = true;
    else if (l == "udp") udp = true;
    else
      return Error::bad_input(where + ": unknown protocol '" + p + "' in '" + text + "' (a comma list of tcp, udp)");
  }
  std::vector<std::string> out;
  if (tcp) out.push_back("tcp");
  if (udp) out.push_back("udp");
  return out;
}

Result<ModelPolicy> read_model_policy(const FloatModel& fm, int n_outputs,
                                      const std::optional<std::string>& protocols_override) {
  ModelPolicy p;
  if (protocols_override) {
    NNBPF_TRY(list, parse_protocols(*protocols_override, "--protocols"));
    p.protocols = list;
    p.protocols_source = "--protocols";
  } else if (auto it = fm.metadata.find(kProtocolsKey); it != fm.metadata.end()) {
    NNBPF_TRY(list, parse_protocols(it->second, std::string("metadata ") + kProtocolsKey));
    p.protocols = list;
    p.protocols_source = std::string("metadata ") + kProtocolsKey;
  }

  if (auto it = fm.metadata.find(kClassesKey); it != fm.metadata.end()) {
    const std::string where = std::string("metadata ") + kClassesKey;
    p.classes = split_commas(it->second);
    for (const auto& c : p.classes)
      if (c.empty()) return Error::bad_input(where + ": empty class name in '" + it->second + "'");
    // A single-logit model (logit0 > 0) still has two classes.
    int want = n_outputs == 1 ? 2 : n_outputs;
    if (static_cast<int>(p.classes.size()) != want)
      return Error::bad_input(where + ": " + std::to_string(p.classes.size()) + " names ('" + it->second +
                              "') for a model with " + std::to_string(want) + " classes");
    p.classes_source = where;
  } else if (n_outputs <= 2) {
    p.classes = {"benign", "intrusion"};
    p.classes_source = "default";
  } else {
    for (int i = 0; i < n_outputs; ++i) p.classes.push_back("class" + std::to_string(i));
    p.classes_source = "default";
  }

  if (auto it = fm.metadata.find(kMinMarginKey); it != fm.metadata.end()) {
    const std::string t = trim(it->second);
    char* end = nullptr;
    double v = std::strtod(t.c_str(), &end);
    if (t.empty() || end != t.c_str() + t.size() || !std::isfinite(v))
      return Error::bad_input(std::string("metadata ") + kMinMarginKey + ": '" + it->second +
                              "' is not a decimal number");
    p.min_margin = v;
  }
  return p;
}

}  // namespace nnbpf::compiler
