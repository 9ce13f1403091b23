// The cost per packet of nnbpf_xdp against an empty XDP program in the same
// run (medians of BPF_PROG_TEST_RUN means), printed and recorded as test
// properties; and the size of the per-flow state.
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>

#include "test/kernel/framework/xdp_tester.h"

using namespace nnbpf::testing;

TEST_F(XdpTest, PerPacketCost) {
  auto p = load(repro_model());
  ASSERT_TRUE(p);
  // An empty XDP program, for the harness's own cost.
  const bpf_insn empty[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_PASS},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  int empty_fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "nnbpf_empty", "GPL", empty, 2, nullptr);
  ASSERT_GE(empty_fd, 0) << strerror(errno);

  const Packet pk = Packet{}.payload(100);
  const auto bytes = pk.bytes();
  ASSERT_EQ(p->run(pk), XDP_PASS);  // the flow exists: every run below is mid-flow
  int xdp = p->prog(NNBPF_PROG_XDP_NAME);
  constexpr uint32_t kRepeat = 100000;
  std::vector<uint64_t> base, mid, end;
  for (int round = 0; round < 7; ++round) {
    base.push_back(p->time_run(bytes, empty_fd, kRepeat));
    mid.push_back(p->time_run(bytes, xdp, kRepeat));
  }
  // A flow-ending packet of a new flow: parse, filter, extraction, the whole
  // inference, event (the ring buffer fills up; lost events are counted).
  ASSERT_EQ(p->write_model(always_benign(p->artifact().model), 2), "");
  const auto fin = pk.flags(kRst).bytes();
  for (int round = 0; round < 3; ++round) end.push_back(p->time_run(fin, xdp, kRepeat / 10));
  close(empty_fd);
  auto median = [](std::vector<uint64_t> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  uint64_t b = median(base), m = median(mid), e = median(end);
  std::cout << "[ cost ] empty XDP program: " << b << " ns/packet\n"
            << "[ cost ] nnbpf_xdp, mid-flow packet (top-6 model): " << m << " ns/packet (+" << (m > b ? m - b : 0)
            << " ns over empty)\n"
            << "[ cost ] nnbpf_xdp, flow-ending packet incl. inference: " << e << " ns/packet\n"
            << "[ cost ] struct nnbpf_flow (top-6 model): " << p->flow_value_size() << " bytes\n";
  RecordProperty("empty_ns_per_packet", static_cast<int>(b));
  RecordProperty("mid_flow_ns_per_packet", static_cast<int>(m));
  RecordProperty("flow_end_ns_per_packet", static_cast<int>(e));
  RecordProperty("flow_state_bytes", static_cast<int>(p->flow_value_size()));
  EXPECT_EQ(p->flow_value_size(), 32u);
  EXPECT_GT(m, 0u);
  EXPECT_EQ(p->stat(NNBPF_STAT_FLOW_FULL), 0u);
}
