#include "runtime/events.h"

#include <algorithm>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>

#include "runtime/evidence.h"
#include "runtime/pins.h"

namespace nnbpf::runtime {

const char* reason_name(uint32_t r) {
  switch (r) {
    case NNBPF_END_FIN: return "fin";
    case NNBPF_END_RST: return "rst";
    case NNBPF_END_IDLE: return "idle";
    case NNBPF_END_EVERY_N: return "every_n";
    case NNBPF_END_EXIT: return "exit";
    case NNBPF_END_EMBRYONIC: return "embryonic";
    default: return "other";
  }
}

namespace {

// What both formats show of an event, in words.
struct EventText {
  std::string src, dst, cls, prefix;
  const char* proto;
  double margin;  // in the model's float units
  uint32_t n_features, n_outputs;
};

EventText event_text(const nnbpf_event& e, const EventPrinter& p) {
  EventText t;
  t.src = format_addr(e.key.src.a);
  t.dst = format_addr(e.key.dst.a);
  t.proto = e.key.proto == 6 ? "tcp" : e.key.proto == 17 ? "udp" : "ip";
  t.cls = e.verdict >= 0 && static_cast<size_t>(e.verdict) < p.classes.size() ? p.classes[e.verdict]
                                                                               : std::to_string(e.verdict);
  t.margin = static_cast<double>(e.margin) / p.logit_scale;
  t.n_features = std::min<uint32_t>({e.n_features, NNBPF_MAX_FEATURES, static_cast<uint32_t>(p.features.size())});
  t.n_outputs = std::min<uint32_t>(e.n_outputs, NNBPF_MAX_OUTPUTS);
  // The blocked prefix (bits past the prefix zeroed) or the whole address.
  uint8_t pk[16];
  std::memcpy(pk, e.key.src.a, 16);
  for (uint32_t bit = e.prefixlen ? e.prefixlen : 128; bit < 128; ++bit)
    pk[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  t.prefix = format_prefix(pk, e.prefixlen);
  return t;
}

// One JSON line (its keys: docs/run.md).
void print_json(const nnbpf_event& e, const EventPrinter& p, const EventText& t) {
  nlohmann::json j;
  j["event"] = e.type == NNBPF_EV_BLOCK ? "block" : "verdict";
  j["src"] = t.src;
  j["dst"] = t.dst;
  j["sport"] = e.key.sport;
  j["dport"] = e.key.dport;
  j["proto"] = t.proto;
  j["reason"] = reason_name(e.reason);
  j["verdict"] = e.verdict;
  j["class"] = t.cls;
  j["unsure"] = static_cast<bool>(e.flags & NNBPF_EVF_UNSURE);
  j["evidence"] = static_cast<bool>(e.flags & NNBPF_EVF_EVIDENCE);
  if (e.flags & NNBPF_EVF_ALLOWED) j["allowlisted"] = true;
  j["margin"] = t.margin;
  j["window_hits"] = e.ev_hits;
  j["window_flows"] = e.ev_flows;
  j["slot"] = e.slot;
  j["ts_ns"] = e.ts_ns;  // kernel monotonic clock (the evidence window's)
  j["ns_extract"] = e.extract_ns;
  j["ns_infer"] = e.infer_ns;
  nlohmann::json f = nlohmann::json::object();
  for (uint32_t i = 0; i < t.n_features; ++i) f[p.features[i]] = e.feat[i];
  j["features"] = f;
  j["logits"] = std::vector<int64_t>(e.logits, e.logits + t.n_outputs);
  if (e.type == NNBPF_EV_BLOCK) {
    j["block_expires_ns"] = e.block_expires_ns;
    j["block_ttl_ns"] = e.block_ttl_ns;
    j["blocked"] = t.prefix;
  }
  std::cout << j.dump() << "\n";
}

// One line for a person.
void print_line(const nnbpf_event& e, const EventPrinter& p, const EventText& t) {
  if (e.type == NNBPF_EV_BLOCK) {
    std::cout << "BLOCK   " << t.prefix << " for "
              << (e.block_ttl_ns ? std::to_string(e.block_ttl_ns / 1000000000ull) + " s" : std::string("ever"))
              << ": " << e.ev_hits << " of " << e.ev_flows << " flows in the window were " << t.cls
              << ", deciding flow " << t.src << ":" << e.key.sport << " -> " << t.dst << ":" << e.key.dport << "/"
              << t.proto << " margin " << t.margin << "\n";
    return;
  }
  const bool unsure = e.flags & NNBPF_EVF_UNSURE;
  std::cout << (unsure ? "unsure    " : e.verdict ? "INTRUSION " : "benign    ") << t.src << ":" << e.key.sport
            << " -> " << t.dst << ":" << e.key.dport << "/" << t.proto << " end=" << reason_name(e.reason)
            << " logits=";
  for (uint32_t i = 0; i < t.n_outputs; ++i) std::cout << (i ? "," : "") << e.logits[i];
  if (e.verdict) std::cout << " class=" << t.cls << " margin=" << t.margin;
  std::cout << " evidence=" << e.ev_hits << "/" << e.ev_flows;
  std::cout << " slot=" << e.slot << " extract=" << e.extract_ns << "ns infer=" << e.infer_ns << "ns";
  for (uint32_t i = 0; i < t.n_features; ++i) std::cout << " " << p.features[i] << "=" << e.feat[i];
  std::cout << "\n";
}

}  // namespace

int print_event(void* ctx, void* data, size_t size) {
  auto* ec = static_cast<EventPrinter*>(ctx);
  if (size < sizeof(nnbpf_event)) return 0;
  const auto& e = *static_cast<const nnbpf_event*>(data);
  ec->events++;
  if (ec->observe && *ec->observe) (*ec->observe)(e);
  if (ec->handler && *ec->handler) {
    (*ec->handler)(e);
    return 0;
  }
  const EventText t = event_text(e, *ec);
  if (ec->json)
    print_json(e, *ec, t);
  else
    print_line(e, *ec, t);
  std::cout.flush();
  return 0;
}

}  // namespace nnbpf::runtime
