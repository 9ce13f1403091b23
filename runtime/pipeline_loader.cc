#include "runtime/pipeline_loader.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <mutex>
#include <regex>

#include "nnbpf/abi.h"

namespace nnbpf::runtime {

namespace {

// libbpf's own log: collected (for error messages) and printed with -v.
std::mutex g_log_mu;
std::string g_libbpf_log;
bool g_verbose = false;

int libbpf_print(enum libbpf_print_level level, const char* fmt, va_list args) {
  char buf[4096];
  va_list copy;
  va_copy(copy, args);
  vsnprintf(buf, sizeof buf, fmt, copy);
  va_end(copy);
  std::lock_guard<std::mutex> lock(g_log_mu);
  if (level != LIBBPF_DEBUG) g_libbpf_log += buf;
  if (g_verbose) fputs(buf, stderr);
  if (g_libbpf_log.size() > (4u << 20)) g_libbpf_log.erase(0, g_libbpf_log.size() - (2u << 20));
  return 0;
}

std::string errstr(int err) { return std::strerror(err < 0 ? -err : err); }

// Last lines of a verifier log that explain a rejection.
std::string log_tail(const std::string& log, size_t lines) {
  std::vector<std::string> all;
  size_t start = 0;
  while (start < log.size()) {
    size_t nl = log.find('\n', start);
    if (nl == std::string::npos) nl = log.size();
    std::string line = log.substr(start, nl - start);
    if (!line.empty()) all.push_back(line);
    start = nl + 1;
  }
  std::string out;
  size_t from = all.size() > lines ? all.size() - lines : 0;
  for (size_t i = from; i < all.size(); ++i) out += "  " + all[i] + "\n";
  return out;
}

// Verifier log (level 1) of program `which` (or of whichever fails), by
// loading the object again. Empty if nothing could be captured.
std::string verifier_log_of(const std::string& path, const std::string& which) {
  bpf_object* obj = bpf_object__open_file(path.c_str(), nullptr);
  if (!obj) return "";
  constexpr size_t kSize = 16u << 20;
  std::vector<std::vector<char>> bufs;
  std::vector<std::string> names;
  bpf_program* prog;
  bpf_object__for_each_program(prog, obj) {
    bufs.emplace_back(kSize, 0);
    names.push_back(bpf_program__name(prog));
    bpf_program__set_log_buf(prog, bufs.back().data(), bufs.back().size());
    bpf_program__set_log_level(prog, 1);
  }
  bool saved = g_verbose;
  g_verbose = false;
  bpf_object__load(obj);
  g_verbose = saved;
  std::string out;
  for (size_t i = 0; i < bufs.size(); ++i) {
    std::string text(bufs[i].data(), strnlen(bufs[i].data(), bufs[i].size()));
    if (names[i] == which || (which.empty() && !text.empty())) {
      out = text;
      if (names[i] == which) break;
    }
  }
  bpf_object__close(obj);
  return out;
}

// The object's nnbpf_cfg (.rodata), writable until the object is loaded:
// libbpf finds the variable through BTF as for a generated subskeleton (the
// pipeline objects are generated per model, so no skeleton header can be
// generated for them at build time; the config's layout is abi.h's).
Result<nnbpf_config*> object_config(bpf_object* obj, const std::string& path) {
  const btf* b = bpf_object__btf(obj);
  int type_id = b ? btf__find_by_name_kind(b, "nnbpf_config", BTF_KIND_STRUCT) : -1;
  if (type_id < 0) return Error::bad_input(path + ": no nnbpf_config in BTF (object built without the XDP runtime?)");
  long size = btf__resolve_size(b, type_id);
  if (size != static_cast<long>(sizeof(nnbpf_config)))
    return Error::bad_input(path + ": nnbpf_config is " + std::to_string(size) + " bytes, expected " +
                            std::to_string(sizeof(nnbpf_config)) + " (ABI mismatch)");
  bpf_map* rodata = nullptr;
  void* addr = nullptr;
  bpf_map_skeleton map{".rodata", &rodata, nullptr};
  bpf_var_skeleton var{"nnbpf_cfg", &rodata, &addr};
  bpf_object_subskeleton sub{};
  sub.sz = sizeof sub;
  sub.obj = obj;
  sub.map_cnt = 1;
  sub.map_skel_sz = sizeof map;
  sub.maps = &map;
  sub.var_cnt = 1;
  sub.var_skel_sz = sizeof var;
  sub.vars = &var;
  if (bpf_object__open_subskeleton(&sub) || !addr)
    return Error::bad_input(path + ": no nnbpf_cfg in .rodata (object built without the XDP runtime?)");
  return static_cast<nnbpf_config*>(addr);
}

}  // namespace

bool have_bpf_privileges() {
  if (geteuid() == 0) return true;
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &hdr, data) != 0) return false;
  auto has = [&](int cap) { return (data[cap / 32].effective >> (cap % 32)) & 1; };
  return has(CAP_SYS_ADMIN) || has(CAP_BPF);
}

LoadedPipeline::~LoadedPipeline() {
  if (obj_) bpf_object__close(obj_);
}

namespace {

// The load-time options that edit the object before it is loaded: its
// config (rodata) and the flow table's size.
Status apply_load_options(bpf_object* obj, const std::string& path, const LoadOptions& opts) {
  if (opts.config || opts.edit_config) {
    NNBPF_TRY(cfg, object_config(obj, path));
    if (opts.config) *cfg = *opts.config;
    if (opts.edit_config) opts.edit_config(*cfg);
  }
  if (opts.max_flows) {
    bpf_map* flows = bpf_object__find_map_by_name(obj, NNBPF_MAP_FLOWS);
    if (!flows) return Error::bad_input(path + ": no " NNBPF_MAP_FLOWS " map (object built without the XDP runtime?)");
    if (bpf_map__set_max_entries(flows, opts.max_flows))
      return Error::runtime(NNBPF_MAP_FLOWS ": cannot set max_entries");
  }
  return ok_status();
}

// Per-program verifier statistics ("processed N insns", "stack depth"): one
// log buffer per program at BPF_LOG_STATS when `collect`, else empty ones.
std::vector<std::vector<char>> stats_log_buffers(bpf_object* obj, bool collect) {
  bpf_program* prog;
  size_t nprogs = 0;
  bpf_object__for_each_program(prog, obj) nprogs++;
  constexpr size_t kStatsLogSize = 64 * 1024;
  std::vector<std::vector<char>> bufs(nprogs);
  if (!collect) return bufs;
  size_t i = 0;
  bpf_object__for_each_program(prog, obj) {
    bufs[i].assign(kStatsLogSize, 0);
    bpf_program__set_log_buf(prog, bufs[i].data(), bufs[i].size());
    bpf_program__set_log_level(prog, 4);  // BPF_LOG_STATS
    ++i;
  }
  return bufs;
}

// The error of a failed bpf_object__load: which program, why, and the tail
// of the verifier's log.
Error load_error(const std::string& path, int err) {
  std::string log;
  {
    std::lock_guard<std::mutex> lock(g_log_mu);
    log = g_libbpf_log;
  }
  std::string which;
  std::smatch m;
  if (std::regex_search(log, m, std::regex("prog '([^']+)': BPF program load failed"))) which = m[1];
  std::string msg = path + ": the kernel rejected " + (which.empty() ? "the object" : "program '" + which + "'") +
                    ": " + errstr(err);
  if ((err == -EPERM || err == -EACCES) && !have_bpf_privileges())
    msg += " (loading BPF programs needs root or CAP_BPF+CAP_NET_ADMIN+CAP_PERFMON)";
  else if (err == -EACCES || err == -EINVAL)
    msg = path + ": the verifier rejected " + (which.empty() ? std::string("the object") : "program '" + which + "'");
  auto e = Error::runtime(msg);
  // The verifier's explanation, for the caller to print below the one-line
  // error: load the object once more with log level 1 into a large
  // (rotating) buffer and keep the tail of the failing program's log.
  std::string vlog = verifier_log_of(path, which);
  e.message += "\n" + log_tail(vlog.empty() ? log : vlog, 25);
  return e;
}

// Each loaded program's size and, from `bufs` when `collect`, its verifier
// statistics.
std::vector<ProgramStats> program_stats(bpf_object* obj, const std::vector<std::vector<char>>& bufs, bool collect) {
  std::vector<ProgramStats> out;
  size_t i = 0;
  bpf_program* prog;
  bpf_object__for_each_program(prog, obj) {
    ProgramStats st;
    st.name = bpf_program__name(prog);
    int fd = bpf_program__fd(prog);
    bpf_prog_info info{};
    __u32 len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
      st.insns = info.xlated_prog_len / 8;
      st.jited_bytes = info.jited_prog_len;
      if (info.verified_insns) st.verified_insns = info.verified_insns;
    }
    if (collect) {
      std::string log(bufs[i].data());
      std::smatch m;
      if (std::regex_search(log, m, std::regex("processed (\\d+) insns"))) st.verified_insns = std::stoll(m[1]);
      if (std::regex_search(log, m, std::regex("stack depth (\\d+)"))) st.stack_depth = std::stoll(m[1]);
      if (std::regex_search(log, m, std::regex("verification time (\\d+) usec"))) st.verify_usec = std::stoll(m[1]);
    }
    out.push_back(st);
    ++i;
  }
  return out;
}

// The tail-call table: stages in order, then the finish programs.
Status fill_prog_table(bpf_object* obj, int progs_fd, const compiler::Artifact& a) {
  auto put_prog = [&](uint32_t slot, const std::string& name) -> Status {
    bpf_program* pr = bpf_object__find_program_by_name(obj, name.c_str());
    if (!pr) return Error::bad_input(a.object_path + ": program '" + name + "' not found");
    int fd = bpf_program__fd(pr);
    if (bpf_map_update_elem(progs_fd, &slot, &fd, BPF_ANY))
      return Error::runtime("nnbpf_progs: cannot set slot " + std::to_string(slot) + ": " + errstr(errno));
    return ok_status();
  };
  for (size_t k = 0; k < a.stage_names.size(); ++k)
    NNBPF_CHECK(put_prog(NNBPF_PROG_STAGE0 + static_cast<uint32_t>(k), a.stage_names[k]));
  NNBPF_CHECK(put_prog(NNBPF_PROG_FINISH_TEST, NNBPF_PROG_TEST_FINISH_NAME));
  if (bpf_object__find_program_by_name(obj, NNBPF_PROG_FLOW_FINISH_NAME))
    NNBPF_CHECK(put_prog(NNBPF_PROG_FINISH_FLOW, NNBPF_PROG_FLOW_FINISH_NAME));
  return ok_status();
}

}  // namespace

Result<std::unique_ptr<LoadedPipeline>> LoadedPipeline::load(const compiler::Artifact& a, const LoadOptions& opts) {
  g_verbose = opts.verbose;
  libbpf_set_print(libbpf_print);
  {
    std::lock_guard<std::mutex> lock(g_log_mu);
    g_libbpf_log.clear();
  }
  std::unique_ptr<LoadedPipeline> p(new LoadedPipeline());
  p->n_inputs_ = a.model.n_inputs();
  p->n_outputs_ = a.model.n_outputs();

  p->obj_ = bpf_object__open_file(a.object_path.c_str(), nullptr);
  if (!p->obj_) {
    int err = -errno;
    p->obj_ = nullptr;
    return Error::bad_input(a.object_path + ": libbpf cannot open the object: " + errstr(err));
  }
  NNBPF_CHECK(apply_load_options(p->obj_, a.object_path, opts));
  std::vector<std::vector<char>> bufs = stats_log_buffers(p->obj_, opts.collect_stats);
  if (int err = bpf_object__load(p->obj_)) return load_error(a.object_path, err);
  p->stats_ = program_stats(p->obj_, bufs, opts.collect_stats);

  int progs_fd = bpf_object__find_map_fd_by_name(p->obj_, NNBPF_MAP_PROGS);
  p->params_fd_ = bpf_object__find_map_fd_by_name(p->obj_, NNBPF_MAP_PARAMS);
  p->idx_fd_ = bpf_object__find_map_fd_by_name(p->obj_, NNBPF_MAP_PARAM_IDX);
  p->errors_fd_ = bpf_object__find_map_fd_by_name(p->obj_, NNBPF_MAP_ERRORS);
  if (progs_fd < 0 || p->params_fd_ < 0 || p->idx_fd_ < 0 || p->errors_fd_ < 0)
    return Error::bad_input(a.object_path + ": missing nnbpf maps (not an nnbpf object of ABI " +
                            std::to_string(NNBPF_ABI_VERSION) + ")");
  NNBPF_CHECK(fill_prog_table(p->obj_, progs_fd, a));
  bpf_program* entry = bpf_object__find_program_by_name(p->obj_, NNBPF_PROG_TEST_ENTRY_NAME);
  if (!entry) return Error::bad_input(a.object_path + ": program '" NNBPF_PROG_TEST_ENTRY_NAME "' not found");
  p->test_entry_fd_ = bpf_program__fd(entry);

  NNBPF_CHECK(p->write_slot(0, a.initial_params));
  NNBPF_CHECK(p->set_running_slot(0));
  return p;
}

int LoadedPipeline::map_fd(const char* name) const { return bpf_object__find_map_fd_by_name(obj_, name); }

int LoadedPipeline::prog_fd(const char* name) const {
  bpf_program* pr = bpf_object__find_program_by_name(obj_, name);
  return pr ? bpf_program__fd(pr) : -1;
}

Status LoadedPipeline::write_slot(uint32_t slot, const std::vector<uint8_t>& bytes) const {
  if (bpf_map_update_elem(params_fd_, &slot, bytes.data(), BPF_ANY))
    return Error::runtime("nnbpf_params: cannot write slot " + std::to_string(slot) + ": " + errstr(errno));
  return ok_status();
}

Status LoadedPipeline::set_running_slot(uint32_t slot) const {
  uint32_t zero = 0;
  if (bpf_map_update_elem(idx_fd_, &zero, &slot, BPF_ANY))
    return Error::runtime("nnbpf_param_idx: cannot set the running slot: " + errstr(errno));
  return ok_status();
}

Result<std::vector<uint64_t>> LoadedPipeline::error_counters() const {
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return Error::runtime("cannot count possible CPUs");
  std::vector<uint64_t> out(NNBPF_ERR_MAX, 0), vals(ncpu);
  for (uint32_t k = 0; k < NNBPF_ERR_MAX; ++k) {
    if (bpf_map_lookup_elem(errors_fd_, &k, vals.data()))
      return Error::runtime("nnbpf_errors: lookup failed: " + errstr(errno));
    for (auto v : vals) out[k] += v;
  }
  return out;
}

Result<TestRunResult> LoadedPipeline::run(const std::vector<uint64_t>& features, int repeat) const {
  if (static_cast<int>(features.size()) != n_inputs_)
    return Error::bad_input("expected " + std::to_string(n_inputs_) + " features, got " +
                            std::to_string(features.size()));
  nnbpf_test_pkt in{}, out{};
  in.magic = NNBPF_TEST_MAGIC;
  in.n_features = static_cast<__u32>(n_inputs_);
  for (int j = 0; j < n_inputs_; ++j) in.feat[j] = features[j];

  LIBBPF_OPTS(bpf_test_run_opts, topts);
  topts.data_in = &in;
  topts.data_size_in = sizeof in;
  topts.data_out = &out;
  topts.data_size_out = sizeof out;
  topts.repeat = repeat > 0 ? repeat : 1;
  if (bpf_prog_test_run_opts(test_entry_fd_, &topts))
    return Error::runtime("BPF_PROG_TEST_RUN failed: " + errstr(errno));
  if (topts.retval != XDP_PASS || out.status != NNBPF_TEST_DONE) {
    std::string why = "inference did not complete (XDP action " + std::to_string(topts.retval) + ")";
    auto errs = error_counters();
    if (errs) {
      static const char* names[] = {"scratch", "params", "tail call", "packet"};
      for (int k = 0; k < 4; ++k)
        if ((*errs)[k]) why += std::string("; ") + names[k] + " errors: " + std::to_string((*errs)[k]);
    }
    return Error::runtime(why);
  }
  TestRunResult r;
  r.verdict = static_cast<int>(out.verdict);
  r.logits.assign(out.logits, out.logits + n_outputs_);
  r.slot = out.slot;
  r.duration_ns = topts.duration;
  r.chain_ns = out.t_ns;
  return r;
}

}  // namespace nnbpf::runtime
