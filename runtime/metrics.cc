#include "runtime/metrics.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <optional>
#include <sstream>

#include "runtime/control.h"
#include "runtime/evidence.h"
#include "runtime/pins.h"
#include "runtime/util.h"

namespace nnbpf::runtime {

namespace {

// Prometheus label values: backslash, quote and newline escaped.
std::string label_value(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string num(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
  return std::string(buf, r.ptr);
}

class Out {
 public:
  void family(const std::string& name, const char* type, const std::string& help) {
    s_ << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
  }
  void sample(const std::string& name, const std::string& labels, double v) {
    s_ << name;
    if (!labels.empty()) s_ << "{" << labels << "}";
    s_ << " " << num(v) << "\n";
  }
  void one(const std::string& name, const char* type, const std::string& help, double v) {
    family(name, type, help);
    sample(name, "", v);
  }
  std::string str() const { return s_.str(); }

 private:
  std::ostringstream s_;
};

}  // namespace

const std::vector<CounterSpec>& kernel_counters() {
  static const std::vector<CounterSpec> t = {
      {NNBPF_STAT_PKTS, "nnbpf_packets_seen_total", "Packets seen by the XDP program."},
      {NNBPF_STAT_PASSED, "nnbpf_packets_passed_total", "Packets passed (XDP_PASS)."},
      {NNBPF_STAT_DROPPED, "nnbpf_packets_dropped_total", "Packets dropped from blocked sources (XDP_DROP)."},
      {NNBPF_STAT_NOT_IP, "nnbpf_packets_not_ip_total", "Packets passed untouched: not IPv4/IPv6 TCP/UDP."},
      {NNBPF_STAT_FLOWS_NEW, "nnbpf_flows_new_total", "Flows created in the flow table."},
      {NNBPF_STAT_FLOWS_ENDED, "nnbpf_flows_ended_total", "Flows classified and freed (FIN/RST, idle, every N)."},
      {NNBPF_STAT_BLOCKS, "nnbpf_blocks_total", "Sources blocked by the model."},
      {NNBPF_STAT_EXPIRED, "nnbpf_blocks_expired_total", "Block entries removed after their TTL."},
      {NNBPF_STAT_ALLOWED, "nnbpf_intrusions_allowlisted_total", "Intrusion verdicts on allowlisted sources (not blocked)."},
      {NNBPF_STAT_EVENTS_LOST, "nnbpf_events_lost_total", "Events lost because the ring buffer was full."},
      {NNBPF_STAT_FLOW_FULL, "nnbpf_flow_insert_failures_total", "Flow table inserts that failed."},
      {NNBPF_STAT_AFTER_CLOSE, "nnbpf_packets_after_close_total", "TCP packets of a flow that had just ended."},
      {NNBPF_STAT_CHAIN_RUNS, "nnbpf_inference_chains_total", "Inference chains started by packets."},
      {NNBPF_STAT_CHAIN_NS, "nnbpf_inference_chain_seconds_total", "Time in inference chains started by packets.", 1e-9},
  };
  return t;
}

const std::vector<double>& Metrics::latency_buckets() {
  static const std::vector<double> b = {250e-9, 500e-9, 1e-6, 2e-6, 4e-6, 8e-6, 16e-6, 32e-6, 64e-6, 128e-6, 256e-6, 1e-3};
  return b;
}

void Metrics::observe(const nnbpf_event& e) {
  if (e.type != NNBPF_EV_VERDICT) return;
  std::lock_guard<std::mutex> g(mu_);
  tallies_.verdicts[e.verdict]++;
  double s = static_cast<double>(e.infer_ns) * 1e-9;
  const auto& b = latency_buckets();
  for (size_t i = 0; i < b.size(); ++i)
    if (s <= b[i]) tallies_.latency_counts[i]++;
  tallies_.latency_count++;
  tallies_.latency_sum_s += s;
}

namespace {

void kernel_counter_samples(Out& o, const Stats& st) {
  for (const auto& c : kernel_counters()) {
    if (c.stat >= st.counters.size()) continue;  // an older object without this counter
    o.family(c.name, "counter", c.help);
    o.sample(c.name, "", static_cast<double>(st.counter(c.stat)) * c.scale);
  }
}

// Verdicts: for two classes the kernel counts both (inferences, intrusions);
// with more classes the split by class comes from the events.
void verdict_samples(Out& o, const Stats& st, const std::vector<std::string>& classes,
                     const Metrics::Tallies& t) {
  o.family("nnbpf_inferences_total", "counter", "Inferences by verdict (class name).");
  if (classes.size() == 2) {
    uint64_t all = st.counter(NNBPF_STAT_INFERENCES), intr = st.counter(NNBPF_STAT_INTRUSIONS);
    o.sample("nnbpf_inferences_total", "verdict=\"" + label_value(classes[0]) + "\"",
             static_cast<double>(all >= intr ? all - intr : 0));
    o.sample("nnbpf_inferences_total", "verdict=\"" + label_value(classes[1]) + "\"", static_cast<double>(intr));
    return;
  }
  for (size_t i = 0; i < classes.size(); ++i) {
    auto it = t.verdicts.find(static_cast<uint32_t>(i));
    o.sample("nnbpf_inferences_total", "verdict=\"" + label_value(classes[i]) + "\"",
             static_cast<double>(it == t.verdicts.end() ? 0 : it->second));
  }
}

// Inference latency from the events' infer_ns (only events the daemon read).
void latency_samples(Out& o, const Metrics::Tallies& t) {
  const auto& b = Metrics::latency_buckets();
  o.family("nnbpf_inference_duration_seconds", "histogram",
           "Inference time per classified flow, from the events (bpf_ktime_get_ns in the chain).");
  for (size_t i = 0; i < b.size(); ++i)
    o.sample("nnbpf_inference_duration_seconds_bucket", "le=\"" + num(b[i]) + "\"",
             static_cast<double>(t.latency_counts[i]));
  o.sample("nnbpf_inference_duration_seconds_bucket", "le=\"+Inf\"", static_cast<double>(t.latency_count));
  o.sample("nnbpf_inference_duration_seconds_sum", "", t.latency_sum_s);
  o.sample("nnbpf_inference_duration_seconds_count", "", static_cast<double>(t.latency_count));
}

// Tables: flows tracked / evicted, blocks active; inference errors.
void table_samples(Out& o, const Stats& st) {
  o.one("nnbpf_flows_evicted_total", "counter",
        "Flows that left the table without a verdict (LRU eviction): new - ended - out of domain - tracked.",
        static_cast<double>(st.flows_evicted()));
  o.one("nnbpf_flows_tracked", "gauge", "Flows in the flow table now.", static_cast<double>(st.flows_tracked));
  o.one("nnbpf_flows_capacity", "gauge", "Size of the flow table (LRU).", static_cast<double>(st.flows_capacity));
  o.one("nnbpf_blocks_active", "gauge", "Sources blocked now (model and user entries, not expired).",
        static_cast<double>(st.blocks_active));

  o.one("nnbpf_inference_errors_total", "counter", "Inferences that failed in the kernel (nnbpf stats).",
        static_cast<double>(st.inference_errors));
}

// Parameter slot and generation (the hot-update state), and the running
// model (from its manifest, when one is readable).
void model_samples(Out& o, const Stats& st, const std::string& iface, const std::optional<compiler::Manifest>& m,
                   const std::vector<std::string>& classes) {
  const std::string digest = !st.model_digest.empty() ? st.model_digest : m ? m->model_digest : "";
  o.one("nnbpf_param_slot", "gauge", "Parameter slot the kernel reads (0 or 1).", st.param_slot);
  o.one("nnbpf_param_generation", "gauge", "Generation of the running parameters (+1 per hot update).",
        static_cast<double>(st.param_generation));

  const size_t nfeat = m ? m->features.size() : 0;
  const std::string b = m ? std::to_string(m->quant.b) : "0";
  std::string cls;
  for (size_t i = 0; i < classes.size(); ++i) cls += (i ? "," : "") + classes[i];
  o.family("nnbpf_model_info", "gauge", "The running model (value 1).");
  o.sample("nnbpf_model_info",
           "interface=\"" + label_value(iface) + "\",digest=\"" + label_value(digest) + "\",kind=\"" +
               label_value(m ? m->kind : "mlp") + "\",features=\"" + std::to_string(nfeat) + "\",b=\"" +
               label_value(b) + "\",quant=\"" + label_value(m ? m->quant.mode : "") + "\",classes=\"" +
               label_value(cls) + "\"",
           1);
}

}  // namespace

Result<std::string> Metrics::render() {
  NNBPF_TRY(st, read_stats(iface_));
  std::optional<compiler::Manifest> manifest;
  if (auto m = running_manifest(iface_)) manifest = std::move(*m);
  const std::vector<std::string> classes =
      manifest ? manifest->class_names() : std::vector<std::string>{"benign", "intrusion"};
  Tallies tallies;
  {
    std::lock_guard<std::mutex> g(mu_);
    tallies = tallies_;
  }
  Out o;
  kernel_counter_samples(o, st);
  verdict_samples(o, st, classes, tallies);
  latency_samples(o, tallies);
  table_samples(o, st);
  model_samples(o, st, iface_, manifest, classes);
  return o.str();
}

}  // namespace nnbpf::runtime
