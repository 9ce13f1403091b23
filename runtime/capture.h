// nnbpf capture: the XDP feature extractor without a model. A capture
// pipeline (compiler::compile_capture, through CaptureOptions::compiler:
// every catalog feature, no stages) is attached like nnbpf run attaches a
// model, with monitor on (nothing is ever dropped), and every flow that ends -- FIN/RST, idle sweep, or still live
// when the capture stops -- becomes one CSV row: the 24 features in catalog
// order as the kernel extracted them, a label and class from the source
// address (--labels), the flow key, how it ended and when.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compiler/support/result.h"
#include "runtime/model_compiler.h"

namespace nnbpf::runtime {

// One line "CIDR LABEL [CLASS]" of a labels file.
struct LabelRule {
  uint32_t prefixlen = 0;  // of the 128-bit address (IPv4 /n: 96 + n)
  uint8_t addr[16] = {};
  int label = 0;           // 0 benign, 1 intrusion
  std::string cls;         // scenario name
};

// Source address -> (label, class): longest matching prefix; unlisted
// sources are label 0, class "benign".
class Labeler {
 public:
  static Result<Labeler> load(const std::string& path);  // errors name path:line
  void add(const LabelRule& r);
  const LabelRule& match(const uint8_t addr[16]) const;
  size_t size() const { return rules_.size(); }

 private:
  std::vector<LabelRule> rules_;  // longest prefix first
  LabelRule default_{0, {}, 0, "benign"};
};

struct CaptureOptions {
  std::string iface;
  std::string out;                  // CSV path
  std::string labels;               // optional labels file
  std::string mode = "auto";        // native | generic | auto
  double duration_s = 0;            // 0 = until signalled
  uint64_t idle_timeout_ns = 0;     // 0 = off: flows end by FIN/RST or at exit
  uint32_t max_flows = 0;           // 0 = object default
  bool verbose = false;
  int ready_fd = -1;                // --ready-fd (runtime/ready.h)
  ModelCompiler compiler;           // writes the capture pipeline (its .capture)
};

// The CSV header: catalog feature names, then label, class, src, dst, sport,
// dport, proto, end, ts_ns.
std::string capture_csv_header();

Status run_capture(const CaptureOptions& opts);

}  // namespace nnbpf::runtime
