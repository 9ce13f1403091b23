// The idle sweep of nnbpf run and nnbpf capture. The kernel finds the flows
// to classify: one BPF_PROG_TEST_RUN of the syscall program nnbpf_sweep_scan (bpf_rt/progs/
// sweep.bpf.c) walks nnbpf_flows in the kernel and returns only the keys of
// flows idle for their timeout, through a memory-mapped array. Each is then
// classified through nnbpf_sweep (BPF_PROG_TEST_RUN): the same extraction,
// inference chain and finish program as a flow's end, and the flow is freed.
#pragma once

#include <bpf/libbpf.h>

#include <chrono>
#include <cstdint>
#include <memory>

#include "compiler/support/result.h"

namespace nnbpf::runtime {

struct SweepTimeouts {
  uint64_t idle_ns = 0;       // every flow idle this long; 0 = off
  uint64_t embryonic_ns = 0;  // TCP or UDP flows of one packet idle this long; 0 = off
};

class IdleSweep {
 public:
  // `obj`: a loaded pipeline object (its nnbpf_sweep, nnbpf_sweep_scan,
  // nnbpf_sweep_due).
  static Result<std::unique_ptr<IdleSweep>> attach(bpf_object* obj, SweepTimeouts timeouts);
  ~IdleSweep();
  IdleSweep(const IdleSweep&) = delete;
  IdleSweep& operator=(const IdleSweep&) = delete;

  // One pass: classifies every flow idle for its timeout now. With `rb`,
  // events are consumed as the pass goes. Returns the flows classified.
  // The walk runs in this thread (a syscall program), preemptible.
  Result<size_t> run(ring_buffer* rb = nullptr);
  // Classifies every flow still tracked, with `reason` (NNBPF_END_EXIT).
  Result<size_t> flush(uint32_t reason, ring_buffer* rb);
  // How often to call run() so that a flow is classified within about 1.5
  // times its timeout (half the shorter timeout, 50 ms to 1 s).
  std::chrono::milliseconds period() const;

 private:
  IdleSweep() = default;
  Result<size_t> pass(uint64_t now_ns, uint32_t all_reason, ring_buffer* rb);

  SweepTimeouts timeouts_;
  int sweep_fd_ = -1;  // programs: owned by the object
  int scan_fd_ = -1;
  const void* due_ = nullptr;  // nnbpf_sweep_due, mapped read-only
  size_t due_bytes_ = 0;
  uint32_t max_flows_ = 0;
};

}  // namespace nnbpf::runtime
