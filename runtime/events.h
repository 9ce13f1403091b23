// nnbpf run's events: what the kernel's ring buffer says about each
// classified flow and each block, printed as a text line or a JSON line
// (docs/run.md#events), or handed to a callback (nnbpf capture, metrics).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nnbpf/abi.h"

namespace nnbpf::runtime {

struct EventPrinter {
  // JSON lines instead of text; names of the features, classes; the logits'
  // scale (margins are printed in the model's float units).
  bool json = false;
  std::vector<std::string> features;
  std::vector<std::string> classes;
  double logit_scale = 1;
  uint64_t events = 0;
  const std::function<void(const nnbpf_event&)>* handler = nullptr;
  const std::function<void(const nnbpf_event&)>* observe = nullptr;
};

// ring_buffer__new callback; ctx is an EventPrinter. Counts the event, shows
// it to `observe`, then gives it to `handler` or prints it to stdout.
int print_event(void* ctx, void* data, size_t size);

// "fin", "rst", "idle", "every_n", "exit", "embryonic" for NNBPF_END_*.
const char* reason_name(uint32_t reason);

}  // namespace nnbpf::runtime
