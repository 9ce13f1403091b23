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

int print_event(void* ctx, void* data, size_t size) {
  auto* ec = static_cast<EventPrinter*>(ctx);
  if (size < sizeof(nnbpf_event)) return 0;
  const auto* e = static_cast<const nnbpf_event*>(data);
  ec->events++;
  if (ec->observe && *ec->observe) (*ec->observe)(*e);
  if (ec->handler && *ec->handler) {
    (*ec->handler)(*e);
    return 0;
  }
  std::string src = format_addr(e->key.src.a), dst = format_addr(e->key.dst.a);
  const char* proto = e->key.proto == 6 ? "tcp" : e->key.proto == 17 ? "udp" : "ip";
  uint32_t nf = std::min<uint32_t>(e->n_features, NNBPF_MAX_FEATURES);
  uint32_t no = std::min<uint32_t>(e->n_outputs, NNBPF_MAX_OUTPUTS);
  const bool unsure = e->flags & NNBPF_EVF_UNSURE;
  std::string cls = e->verdict >= 0 && static_cast<size_t>(e->verdict) < ec->classes.size()
                        ? ec->classes[e->verdict]
                        : std::to_string(e->verdict);
  double margin = static_cast<double>(e->margin) / ec->logit_scale;
  // The blocked prefix (bits past the prefix zeroed) or the whole address.
  uint8_t pk[16];
  std::memcpy(pk, e->key.src.a, 16);
  for (uint32_t bit = e->prefixlen ? e->prefixlen : 128; bit < 128; ++bit)
    pk[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  std::string pfx = format_prefix(pk, e->prefixlen);
  if (ec->json) {
    nlohmann::json j;
    j["event"] = e->type == NNBPF_EV_BLOCK ? "block" : "verdict";
    j["src"] = src;
    j["dst"] = dst;
    j["sport"] = e->key.sport;
    j["dport"] = e->key.dport;
    j["proto"] = proto;
    j["reason"] = reason_name(e->reason);
    j["verdict"] = e->verdict;
    j["class"] = cls;
    j["unsure"] = unsure;
    j["evidence"] = static_cast<bool>(e->flags & NNBPF_EVF_EVIDENCE);
    if (e->flags & NNBPF_EVF_ALLOWED) j["allowlisted"] = true;
    j["margin"] = margin;
    j["window_hits"] = e->ev_hits;
    j["window_flows"] = e->ev_flows;
    j["slot"] = e->slot;
    j["ts_ns"] = e->ts_ns;  // kernel monotonic clock (the evidence window's)
    j["ns_extract"] = e->extract_ns;
    j["ns_infer"] = e->infer_ns;
    nlohmann::json f = nlohmann::json::object();
    for (uint32_t i = 0; i < nf && i < ec->features.size(); ++i) f[ec->features[i]] = e->feat[i];
    j["features"] = f;
    j["logits"] = std::vector<int64_t>(e->logits, e->logits + no);
    if (e->type == NNBPF_EV_BLOCK) {
      j["block_expires_ns"] = e->block_expires_ns;
      j["block_ttl_ns"] = e->block_ttl_ns;
      j["blocked"] = pfx;
    }
    std::cout << j.dump() << "\n";
  } else if (e->type == NNBPF_EV_BLOCK) {
    std::cout << "BLOCK   " << pfx << " for "
              << (e->block_ttl_ns ? std::to_string(e->block_ttl_ns / 1000000000ull) + " s" : std::string("ever"))
              << ": " << e->ev_hits << " of " << e->ev_flows << " flows in the window were " << cls
              << ", deciding flow " << src << ":" << e->key.sport << " -> " << dst << ":" << e->key.dport << "/"
              << proto << " margin " << margin << "\n";
  } else {
    std::cout << (unsure ? "unsure    " : e->verdict ? "INTRUSION " : "benign    ") << src << ":" << e->key.sport << " -> " << dst << ":"
              << e->key.dport << "/" << proto << " end=" << reason_name(e->reason) << " logits=";
    for (uint32_t i = 0; i < no; ++i) std::cout << (i ? "," : "") << e->logits[i];
    if (e->verdict) std::cout << " class=" << cls << " margin=" << margin;
    std::cout << " evidence=" << e->ev_hits << "/" << e->ev_flows;
    std::cout << " slot=" << e->slot << " extract=" << e->extract_ns << "ns infer=" << e->infer_ns << "ns";
    for (uint32_t i = 0; i < nf && i < ec->features.size(); ++i) std::cout << " " << ec->features[i] << "=" << e->feat[i];
    std::cout << "\n";
  }
  std::cout.flush();
  return 0;
}

}  // namespace nnbpf::runtime
