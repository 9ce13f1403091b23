#include "runtime/sweep.h"

#include <bpf/bpf.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "nnbpf/abi.h"
#include "nnbpf/sweep.h"
#include "runtime/pins.h"

namespace nnbpf::runtime {

namespace {

std::string errstr() { return std::strerror(errno); }

// Runs nnbpf_sweep on one flow: classifies and frees it. False if the test
// run itself failed.
bool classify(int sweep_fd, const nnbpf_sweep_rec& r) {
  nnbpf_sweep_pkt pkt{}, out{};
  pkt.magic = NNBPF_SWEEP_MAGIC;
  pkt.reason = r.reason;
  pkt.key = r.key;
  LIBBPF_OPTS(bpf_test_run_opts, t);
  t.data_in = &pkt;
  t.data_size_in = sizeof pkt;
  t.data_out = &out;
  t.data_size_out = sizeof out;
  t.repeat = 1;
  return bpf_prog_test_run_opts(sweep_fd, &t) == 0;
}

}  // namespace

Result<std::unique_ptr<IdleSweep>> IdleSweep::attach(bpf_object* obj, SweepTimeouts timeouts) {
  std::unique_ptr<IdleSweep> s(new IdleSweep());
  s->timeouts_ = timeouts;
  bpf_program* sweep = bpf_object__find_program_by_name(obj, NNBPF_PROG_SWEEP_NAME);
  bpf_program* scan = bpf_object__find_program_by_name(obj, NNBPF_PROG_SWEEP_SCAN_NAME);
  bpf_map* due = bpf_object__find_map_by_name(obj, NNBPF_MAP_SWEEP_DUE);
  bpf_map* flows = bpf_object__find_map_by_name(obj, NNBPF_MAP_FLOWS);
  if (!sweep || !scan || !due || !flows || bpf_map__value_size(due) != sizeof(nnbpf_sweep_rec))
    return Error::bad_input("the object has no " NNBPF_PROG_SWEEP_NAME " / " NNBPF_PROG_SWEEP_SCAN_NAME
                            " programs (compiled by an older nnbpf? compile the model again)");
  s->sweep_fd_ = bpf_program__fd(sweep);
  s->scan_fd_ = bpf_program__fd(scan);
  s->max_flows_ = bpf_map__max_entries(flows);
  s->due_bytes_ = static_cast<size_t>(bpf_map__max_entries(due)) * sizeof(nnbpf_sweep_rec);
  void* m = mmap(nullptr, s->due_bytes_, PROT_READ, MAP_SHARED, bpf_map__fd(due), 0);
  if (m == MAP_FAILED) return Error::runtime(std::string(NNBPF_MAP_SWEEP_DUE) + ": cannot map: " + errstr());
  s->due_ = m;
  return s;
}

IdleSweep::~IdleSweep() {
  if (due_) munmap(const_cast<void*>(due_), due_bytes_);
}

std::chrono::milliseconds IdleSweep::period() const {
  uint64_t shortest = timeouts_.idle_ns;
  if (timeouts_.embryonic_ns && (!shortest || timeouts_.embryonic_ns < shortest)) shortest = timeouts_.embryonic_ns;
  return std::chrono::milliseconds(std::clamp<uint64_t>(shortest / 2000000ull, 50, 1000));
}

Result<size_t> IdleSweep::run(ring_buffer* rb) {
  if (!timeouts_.idle_ns && !timeouts_.embryonic_ns) return size_t{0};
  return pass(ktime_now_ns(), 0, rb);
}

Result<size_t> IdleSweep::flush(uint32_t reason, ring_buffer* rb) { return pass(ktime_now_ns(), reason, rb); }

// Scan, classify what the scan found (freeing it), and scan again while a
// batch came back full: each full batch frees NNBPF_SWEEP_BATCH flows, so the
// rounds are bounded by the table's size.
Result<size_t> IdleSweep::pass(uint64_t now_ns, uint32_t all_reason, ring_buffer* rb) {
  const auto* recs = static_cast<const nnbpf_sweep_rec*>(due_);
  std::vector<nnbpf_sweep_rec> batch;
  size_t done = 0;
  for (uint32_t round = 0; round <= max_flows_ / NNBPF_SWEEP_BATCH + 1; ++round) {
    nnbpf_scan_args args{};
    args.all_reason = all_reason;
    args.now_ns = now_ns;
    args.idle_ns = timeouts_.idle_ns;
    args.embryonic_ns = timeouts_.embryonic_ns;
    LIBBPF_OPTS(bpf_test_run_opts, t);
    t.ctx_in = &args;
    t.ctx_size_in = sizeof args;
    if (bpf_prog_test_run_opts(scan_fd_, &t)) return Error::runtime("idle sweep: scan: " + errstr());
    if (args.due > NNBPF_SWEEP_BATCH) return Error::runtime("idle sweep: scan returned a bad count");
    batch.assign(recs, recs + args.due);  // the next scan overwrites the array
    for (const auto& r : batch) {
      if (classify(sweep_fd_, r)) ++done;
      if (rb && done % 256 == 0) ring_buffer__consume(rb);
    }
    if (!args.full) break;
  }
  return done;
}

}  // namespace nnbpf::runtime
