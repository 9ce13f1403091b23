// nnbpf run | capture | update | hosts | stats | bench.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>

#include "commands.h"
#include "compiler/driver/pipeline.h"
#include "runtime/bench.h"
#include "runtime/capture.h"
#include "runtime/control.h"
#include "runtime/daemon.h"
#include "runtime/evidence.h"
#include "runtime/pins.h"
#include "runtime/pipeline_loader.h"
#include "runtime/ready.h"
#include "runtime/service.h"
#include "runtime/watch.h"

namespace nnbpf::cli {

namespace {

using nlohmann::json;

struct RunArgs {
  runtime::RunOptions opts;
  runtime::ServiceOptions svc;  // --metrics-addr, --watch-model (cmd_config.cc)
  std::string ttl = "300s";
  std::string idle;
  std::string embryonic = "1s";
  std::string window = "10s";
  std::string ttl_max = "3600s";
  std::string min_margin;
  std::vector<std::string> block_classes;
};

struct CaptureArgs {
  runtime::CaptureOptions opts;
  std::string idle;
};

struct StatsArgs {
  std::string iface;
  bool json = false;
  bool programs = false;
  std::string interval;
};

struct UpdateArgs {
  std::string iface;
  std::string model;  // .onnx or a compiled directory
  bool json = false;
};

struct HostsArgs {
  std::string iface;
  std::string addr;
  std::string ttl;
  bool json = false;
  bool evidence = false;
};

std::string seconds_text(uint64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f s", static_cast<double>(ns) / 1e9);
  return buf;
}

// The runtime's compiler (runtime/model_compiler.h), bound to compiler/driver.
runtime::ModelCompiler model_compiler() {
  runtime::ModelCompiler c;
  c.onnx = [](const std::string& onnx, const std::string& dir) -> Status {
    NNBPF_TRY(r, compiler::compile_model(onnx, compiler::CompileOptions{}));
    return compiler::write_artifact(dir, onnx, r);
  };
  c.capture = [](const std::string& dir) -> Status {
    NNBPF_TRY(r, compiler::compile_capture());
    return compiler::write_artifact(dir, "", r);
  };
  return c;
}

// A model given as ONNX is compiled to a temporary directory first.
Result<compiler::Artifact> artifact_for(const std::string& model, std::string* tmpdir) {
  NNBPF_TRY(dir, runtime::compiled_dir_for(model, model_compiler(), tmpdir));
  return compiler::load_artifact(dir);
}

void do_update(const UpdateArgs& a) {
  std::string tmp;
  auto art = artifact_for(a.model, &tmp);
  if (!art) return report("update", art.error());
  auto r = runtime::hot_update(a.iface, *art);
  if (!tmp.empty()) std::filesystem::remove_all(tmp);
  if (!r) return report("update", r.error());
  if (a.json) {
    std::cout << json{{"iface", a.iface},          {"old_slot", r->old_slot},   {"new_slot", r->new_slot},
                      {"old_digest", r->old_digest}, {"new_digest", r->new_digest}, {"generation", r->generation},
                      {"grace_ms", r->grace_ms}}
                     .dump()
              << "\n";
  } else {
    std::cout << a.iface << ": slot " << r->old_slot << " -> " << r->new_slot << ", model "
              << r->old_digest.substr(0, 16) << " -> " << r->new_digest.substr(0, 16) << " (generation "
              << r->generation << ", grace period " << std::fixed << std::setprecision(2) << r->grace_ms << " ms)\n";
  }
}

void print_program_stats(const StatsArgs& a) {
  double interval = 0;
  if (!a.interval.empty()) {
    auto ns = runtime::parse_duration(a.interval);
    if (!ns) return report("stats", ns.error());
    if (*ns == 0) return report("stats", Error::bad_input("--interval must be above 0"));
    interval = static_cast<double>(*ns) / 1e9;
  }
  auto st = runtime::read_program_stats(a.iface, interval);
  if (!st) return report("stats", st.error());
  if (a.json) {
    std::cout << st->to_json().dump() << "\n";
    return;
  }
  const runtime::ProgramRunStats& r = *st;
  std::cout << std::fixed << std::setprecision(1);
  if (interval > 0)
    std::cout << a.iface << ": kernel BPF accounting over " << r.interval_s << " s\n";
  else
    std::cout << a.iface << ": kernel BPF accounting since load (counts only while BPF statistics were on)\n";
  std::cout << std::left << std::setw(22) << "program" << std::right << std::setw(8) << "id" << std::setw(14) << "run_cnt"
            << std::setw(18) << "run_time_ns" << std::setw(12) << "ns/run" << "\n";
  for (const auto& p : r.programs)
    std::cout << std::left << std::setw(22) << p.name << std::right << std::setw(8) << p.id << std::setw(14)
              << p.run_cnt << std::setw(18) << p.run_time_ns << std::setw(12) << p.ns_per_run() << "\n";
  std::cout << "packets " << r.packets << ", " << r.ns_per_packet << " ns/packet in XDP; FEPP " << r.fepp_ns
            << " ns (extraction per packet), IPF " << r.ipf_ns << " ns (inference per flow, "
            << r.inferences_in_packets << " inferences)\n";
  if (interval > 0)
    std::cout << "BPF CPU share " << std::setprecision(3) << 100.0 * r.cpu_share << " % of " << r.cpus << " CPUs\n";
}

// The text of `nnbpf bench` (docs/bench.md): each path's median, its ratio
// to (a) and the ns above (a).
void print_bench(const runtime::BenchResult& r) {
  std::cout << std::fixed << std::setprecision(2);
  std::cout << "model " << json(r.shape).dump() << ", " << r.stages << " stage(s), BPF ISA " << r.bpf_isa
            << "; medians of " << r.batches << " batches (BPF_PROG_TEST_RUN)\n";
  auto row = [&](const char* name, uint64_t ns, bool against_empty, const char* what) {
    std::cout << "  " << std::left << std::setw(27) << name << std::right << std::setw(8) << ns << " ns "
              << std::setw(7) << (against_empty ? r.ratio(ns) : 1.0) << "x " << std::setw(7)
              << (against_empty ? r.above(ns) : 0) << " ns above (a)" << what << "\n";
  };
  row("(a) empty XDP program", r.empty_ns, false, "");
  row("(b) mid-flow packet", r.packet_ns, true, "  (no block exists)");
  std::cout << "      while a block exists   " << std::setw(8) << r.packet_with_blocks_ns
            << " ns   (one host-filter lookup more)\n";
  row("(c) flow-ending packet", r.flow_end_ns, true, "  (extraction + full inference chain + event)");
  std::cout << "      inference alone        " << std::setw(8) << r.inference_ns << " ns entry-to-finish; "
            << r.inference_chain_ns << " ns per test run of the chain (" << r.ratio(r.inference_chain_ns) << "x)\n";
  std::cout << "      evidence update        " << std::setw(8) << r.evidence_ns
            << " ns   (fastest flow-ending batch with minus without the evidence step; median of per-batch "
               "differences "
            << r.evidence_median_diff_ns << " ns)\n";
  row("(d) packet, blocked host", r.blocked_ns, true, "");
  std::cout << "events: " << r.events_written << " written and read back, " << r.events_lost
            << " lost (flow-ending batches of " << r.repeat_flow_end << " packets, the ring buffer drained after each)\n";
  std::cout << "memory: " << r.param_bytes << " B parameters per slot (x2), " << r.flow_state_bytes
            << " B state per tracked flow (+" << r.flow_key_bytes << " B key)\n";
}

// ---------------------------------------------------------------- run
// Where and how the pipeline runs, and when flows are classified.
void add_run_pipeline_options(CLI::App* run, RunArgs& ra) {
  run->add_option("dir", ra.opts.dir, "directory written by nnbpf compile")->required();
  run->add_option("--iface", ra.opts.iface, "network interface")->required();
  run->add_option("--mode", ra.opts.mode, "XDP mode: native, generic or auto")
      ->check(CLI::IsMember({"native", "generic", "auto"}));
  run->add_option("--block-ttl", ra.ttl, "how long a detected source stays blocked (e.g. 300s, 0 = forever)");
  run->add_option("--allow", ra.opts.allow, "CIDR that is never blocked (repeatable)");
  run->add_flag("--monitor", ra.opts.monitor, "detect and report, never drop");
  run->add_option("--idle-timeout", ra.idle, "classify flows idle this long (e.g. 10s)");
  run->add_option("--embryonic-timeout", ra.embryonic,
                  "classify TCP and UDP flows of one packet (a SYN never followed by the handshake, a lone "
                  "datagram: e.g. port-scan probes) idle this long (default 1s; 0 = off)");
  run->add_option("--every-packets", ra.opts.every_packets, "also classify every N packets of a flow");
}

// The blocking policy (docs/run.md, "Blocking policy").
void add_run_policy_options(CLI::App* run, RunArgs& ra) {
  auto& pol = ra.opts.policy;
  run->add_option("--window", ra.window, "evidence window (default 10s)");
  run->add_option("--block-after", pol.block_after,
                  "block a source after K intrusion verdicts inside the window (default 3)")
      ->check(CLI::Range(1, 65535));
  run->add_option("--min-share", pol.min_share,
                  "... that are at least this share of its classified flows in the window (default 0.5)")
      ->check(CLI::Range(0.0, 1.0));
  run->add_option("--min-margin", ra.min_margin,
                  "a verdict counts only if logit[class] - logit[0] >= M, float units (default: the model's "
                  "min_margin, else 0)");
  run->add_option("--block-prefix-v4", pol.prefix_v4, "evidence and blocks per IPv4 /N (default 32)")
      ->check(CLI::Range(1, 32));
  run->add_option("--block-prefix-v6", pol.prefix_v6, "evidence and blocks per IPv6 /N (default 64)")
      ->check(CLI::Range(1, 128));
  run->add_option("--block-ttl-max", ra.ttl_max,
                  "a source blocked again within one TTL of its last block gets twice that TTL, up to this "
                  "(default 3600s; 0 = no doubling)");
  run->add_option("--block-classes", ra.block_classes,
                  "classes whose verdicts count as evidence (default: every class but the first)")
      ->delimiter(',');
  run->add_flag("--abstain-outside-ranges", pol.abstain,
                "a flow with a feature outside the model's training ranges is 'unsure': reported, never evidence");
}

// The daemon's own options: table size, duration, output, readiness.
void add_run_daemon_options(CLI::App* run, RunArgs& ra) {
  run->add_option("--max-flows", ra.opts.max_flows, "flow table size (LRU)");
  run->add_option("--duration", ra.opts.duration_s, "stop after this many seconds (default: run until signalled)");
  run->add_flag("--json", ra.opts.json, "events as JSON lines");
  run->add_flag("--bpf-stats", ra.opts.bpf_stats,
                "keep the kernel's BPF run-time statistics on while attached (nnbpf stats --programs)");
  run->add_flag("-v,--verbose", ra.opts.verbose, "print libbpf's log");
  run->add_option("--ready-fd", ra.opts.ready_fd,
                  "once attached and pinned, write 'ready IFACE' to this file descriptor and close it");
  register_service_options(run, &ra.svc, &ra.opts);
}

// The durations and the margin given as text, into ra.opts.
Status parse_run_args(RunArgs& ra) {
  NNBPF_TRY(ttl, runtime::parse_duration(ra.ttl));
  ra.opts.block_ttl_ns = ttl;
  if (!ra.idle.empty()) {
    NNBPF_TRY(idle, runtime::parse_duration(ra.idle));
    ra.opts.idle_timeout_ns = idle;
  }
  auto embryonic = runtime::parse_duration(ra.embryonic);
  if (!embryonic) return embryonic.error().with_context("--embryonic-timeout: ");
  ra.opts.embryonic_timeout_ns = *embryonic;
  auto window = runtime::parse_duration(ra.window);
  if (!window) return window.error().with_context("--window: ");
  if (*window == 0) return Error::bad_input("--window must be above 0");
  ra.opts.policy.window_ns = *window;
  auto tmax = runtime::parse_duration(ra.ttl_max);
  if (!tmax) return tmax.error().with_context("--block-ttl-max: ");
  ra.opts.policy.block_ttl_max_ns = *tmax;
  if (!ra.min_margin.empty()) {
    char* end = nullptr;
    double m = std::strtod(ra.min_margin.c_str(), &end);
    if (end != ra.min_margin.c_str() + ra.min_margin.size() || !std::isfinite(m))
      return Error::bad_input("--min-margin: '" + ra.min_margin + "' is not a number");
    ra.opts.policy.min_margin = m;
  }
  if (!ra.block_classes.empty()) ra.opts.policy.block_classes = ra.block_classes;
  return ok_status();
}

void do_run(RunArgs& ra) {
  if (auto r = runtime::check_ready_fd(ra.opts.ready_fd); !r) return report("run", r.error());
  if (auto r = parse_run_args(ra); !r) return report("run", r.error());
  ra.svc.compiler = model_compiler();
  auto st = runtime::run_service(ra.opts, ra.svc);
  if (!st) report("run", st.error());
}

void register_run(CLI::App& app) {
  auto ra = std::make_shared<RunArgs>();
  auto* run = app.add_subcommand("run", "Attach a compiled pipeline to an interface and report detections");
  add_run_pipeline_options(run, *ra);
  add_run_policy_options(run, *ra);
  add_run_daemon_options(run, *ra);
  run->callback([ra] { do_run(*ra); });
}

// ---------------------------------------------------------------- capture
void do_capture(CaptureArgs& ca) {
  if (auto r = runtime::check_ready_fd(ca.opts.ready_fd); !r) return report("capture", r.error());
  if (!ca.idle.empty()) {
    auto idle = runtime::parse_duration(ca.idle);
    if (!idle) return report("capture", idle.error());
    ca.opts.idle_timeout_ns = *idle;
  }
  ca.opts.compiler = model_compiler();
  auto st = runtime::run_capture(ca.opts);
  if (!st) report("capture", st.error());
}

void register_capture(CLI::App& app) {
  auto ca = std::make_shared<CaptureArgs>();
  auto* cap = app.add_subcommand("capture", "Extract every ended flow's features in XDP (no model) into a CSV");
  cap->add_option("--iface", ca->opts.iface, "network interface")->required();
  cap->add_option("--out", ca->opts.out, "CSV file to write")->required();
  cap->add_option("--labels", ca->opts.labels, "file of 'CIDR LABEL [CLASS]' lines labelling flows by source");
  cap->add_option("--duration", ca->opts.duration_s, "stop after this many seconds (default: run until signalled)");
  cap->add_option("--max-flows", ca->opts.max_flows, "flow table size (LRU)");
  cap->add_option("--idle-timeout", ca->idle, "end flows idle this long (e.g. 10s; default: only FIN/RST and exit)");
  cap->add_option("--mode", ca->opts.mode, "XDP mode: native, generic or auto")
      ->check(CLI::IsMember({"native", "generic", "auto"}));
  cap->add_flag("-v,--verbose", ca->opts.verbose, "print libbpf's log");
  cap->add_option("--ready-fd", ca->opts.ready_fd,
                  "once attached, write 'ready IFACE' to this file descriptor and close it");
  cap->callback([ca] { do_capture(*ca); });
}

// ---------------------------------------------------------------- update
void register_update(CLI::App& app) {
  auto ua = std::make_shared<UpdateArgs>();
  auto* up = app.add_subcommand("update", "Hot-swap the running model's parameters (no detach, no lock)");
  up->add_option("model", ua->model, "new model: .onnx or a directory written by nnbpf compile")->required();
  up->add_option("--iface", ua->iface, "interface of the running pipeline")->required();
  up->add_flag("--json", ua->json, "machine-readable output");
  add_config_option(up);
  up->callback([ua] { do_update(*ua); });
}

// ---------------------------------------------------------------- hosts
// hosts list --evidence: sources with evidence that are not blocked.
void print_evidence(const HostsArgs& ha) {
  auto r = runtime::evidence_list(ha.iface, false);
  if (!r) return report("hosts list", r.error());
  if (ha.json) {
    json arr = json::array();
    for (const auto& e : *r)
      arr.push_back({{"prefix", e.prefix}, {"window_hits", e.hits}, {"window_flows", e.flows},
                     {"unsure", e.unsure}, {"blocks", e.blocks}, {"last_seen_ns", e.age_ns},
                     {"last_margin", e.last_margin}});
    std::cout << arr.dump() << "\n";
    return;
  }
  for (const auto& e : *r)
    std::cout << std::left << std::setw(40) << e.prefix << " " << e.hits << " of " << e.flows
              << " flows counted as evidence in the window, " << e.unsure << " unsure, blocked " << e.blocks
              << " times, last flow " << seconds_text(e.age_ns) << " ago\n";
}

// hosts list: blocked sources, why and until when.
void print_hosts(const HostsArgs& ha) {
  auto r = runtime::hosts_list(ha.iface);
  if (!r) return report("hosts list", r.error());
  if (ha.json) {
    json arr = json::array();
    for (const auto& e : *r) {
      json o = {{"addr", e.addr}, {"expires_in_ns", e.expires_in_ns}, {"age_ns", e.age_ns},
                {"drops", e.drops}, {"by", e.by}};
      if (e.by == "model")
        o["why"] = {{"window_hits", e.hits}, {"window_flows", e.flows}, {"class", e.class_name},
                    {"margin", e.margin}, {"ttl_ns", e.ttl_ns}};
      arr.push_back(o);
    }
    std::cout << arr.dump() << "\n";
    return;
  }
  for (const auto& e : *r) {
    std::cout << std::left << std::setw(40) << e.addr << " by " << e.by << ", "
              << (e.expires_in_ns ? std::to_string(e.expires_in_ns / 1000000000ull) + " s left" : "no expiry")
              << ", " << e.drops << " packets dropped";
    if (e.by == "model")
      std::cout << "; " << e.hits << " of " << e.flows << " flows " << e.class_name << " in the window, margin "
                << e.margin << ", TTL " << (e.ttl_ns ? seconds_text(e.ttl_ns) : std::string("forever"));
    std::cout << "\n";
  }
}

void do_hosts_add(const HostsArgs& ha) {
  uint64_t ttl = 0;
  if (!ha.ttl.empty()) {
    auto t = runtime::parse_duration(ha.ttl);
    if (!t) return report("hosts add", t.error());
    ttl = *t;
  }
  auto st = runtime::hosts_add(ha.iface, ha.addr, ttl);
  if (!st) return report("hosts add", st.error());
  std::cout << "blocked " << ha.addr << " on " << ha.iface << "\n";
}

void do_hosts_del(const HostsArgs& ha) {
  auto st = runtime::hosts_del(ha.iface, ha.addr);
  if (!st) return report("hosts del", st.error());
  std::cout << "unblocked " << ha.addr << " on " << ha.iface << " (evidence cleared)\n";
}

void do_hosts_flush(const HostsArgs& ha) {
  auto n = runtime::hosts_flush(ha.iface);
  if (!n) return report("hosts flush", n.error());
  std::cout << "unblocked " << *n << " sources on " << ha.iface << "\n";
}

void register_hosts(CLI::App& app) {
  auto ha = std::make_shared<HostsArgs>();
  auto* hosts = app.add_subcommand("hosts", "The intrusion host record: list, add, del, flush");
  hosts->require_subcommand(1);
  auto* hl = hosts->add_subcommand("list", "Blocked sources, why and until when (--evidence: sources not blocked)");
  auto* hadd = hosts->add_subcommand("add", "Block a source");
  auto* hdel = hosts->add_subcommand("del", "Unblock a source");
  auto* hfl = hosts->add_subcommand("flush", "Unblock every source");
  for (auto* c : {hl, hadd, hdel, hfl}) {
    c->add_option("--iface", ha->iface, "interface of the running pipeline")->required();
    c->add_flag("--json", ha->json, "machine-readable output");
  }
  hadd->add_option("addr", ha->addr, "IPv4 or IPv6 address")->required();
  hadd->add_option("--ttl", ha->ttl, "lifetime (e.g. 300s; default forever)");
  hdel->add_option("addr", ha->addr, "IPv4 or IPv6 address, or a listed prefix")->required();
  hl->add_flag("--evidence", ha->evidence, "sources with evidence in the window that are not (yet) blocked");
  hl->callback([ha] { ha->evidence ? print_evidence(*ha) : print_hosts(*ha); });
  hadd->callback([ha] { do_hosts_add(*ha); });
  hdel->callback([ha] { do_hosts_del(*ha); });
  hfl->callback([ha] { do_hosts_flush(*ha); });
}

// ---------------------------------------------------------------- stats
void do_stats(const StatsArgs& sa) {
  if (sa.programs) return print_program_stats(sa);
  if (!sa.interval.empty()) return report("stats", Error::bad_input("--interval needs --programs"));
  auto st = runtime::read_stats(sa.iface);
  if (!st) return report("stats", st.error());
  const nlohmann::json j = st->to_json();
  if (sa.json) {
    std::cout << j.dump() << "\n";
    return;
  }
  for (auto it = j.begin(); it != j.end(); ++it)
    std::cout << std::left << std::setw(24) << it.key() << " " << (it->is_string() ? it->get<std::string>() : it->dump()) << "\n";
}

void register_stats(CLI::App& app) {
  auto sa = std::make_shared<StatsArgs>();
  auto* stats = app.add_subcommand("stats", "Counters of the running pipeline");
  stats->add_option("--iface", sa->iface, "interface of the running pipeline")->required();
  stats->add_flag("--json", sa->json, "machine-readable output");
  stats->add_flag("--programs", sa->programs, "per-program kernel accounting (run_cnt, run_time_ns), FEPP and IPF");
  stats->add_option("--interval", sa->interval,
                    "with --programs: turn BPF run-time statistics on for this long (e.g. 5s) and report that window");
  stats->callback([sa] { do_stats(*sa); });
}

// ---------------------------------------------------------------- bench
void register_bench(CLI::App& app) {
  auto ba = std::make_shared<runtime::BenchOptions>();
  auto bjson = std::make_shared<bool>(false);
  auto* bench = app.add_subcommand("bench", "BPF_PROG_TEST_RUN timings and memory of a compiled pipeline");
  bench->add_option("dir", ba->dir, "directory written by nnbpf compile")->required();
  bench->add_option("--batches", ba->batches, "batches (medians are over these)")->check(CLI::Range(1, 1000));
  bench->add_option("--repeat", ba->repeat, "repeat per batch")->check(CLI::Range(1, 10000000));
  bench->add_flag("--json", *bjson, "machine-readable output");
  bench->callback([ba, bjson] {
    ba->repeat_flow = std::max(1, ba->repeat / 4);
    auto res = runtime::run_bench(*ba);
    if (!res) return report("bench", res.error());
    if (*bjson) {
      std::cout << res->to_json().dump(2) << "\n";
      return;
    }
    print_bench(*res);
  });
}

}  // namespace

void register_runtime_commands(CLI::App& app) {
  register_run(app);
  register_capture(app);
  register_update(app);
  register_hosts(app);
  register_stats(app);
  register_bench(app);
}

}  // namespace nnbpf::cli
