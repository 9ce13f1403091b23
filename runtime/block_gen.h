// The host filter's block generation (struct nnbpf_block_gen, abi.h): the
// per-packet path skips its nnbpf_blocked lookup only while user space has
// seen that map empty and nothing was inserted since. Every user-space
// insert into nnbpf_blocked calls bump() after it; whoever deletes entries
// may call mark_if_empty() to let packets skip the lookup again.
#pragma once

#include <string>

#include "compiler/support/result.h"
#include "nnbpf/abi.h"

namespace nnbpf::runtime {

class BlockGen {
 public:
  // Maps a pipeline's nnbpf_block_gen (fd not kept).
  static Result<BlockGen> map(int fd);
  // The pinned one of the pipeline on `iface`; an inactive BlockGen (bump and
  // mark_if_empty do nothing) if the pipeline predates the map: its packets
  // always look up.
  static Result<BlockGen> open_pinned(const std::string& iface);

  BlockGen(BlockGen&& o) noexcept : g_(o.g_) { o.g_ = nullptr; }
  BlockGen& operator=(BlockGen&&) = delete;
  BlockGen(const BlockGen&) = delete;
  ~BlockGen();

  // After an insert into nnbpf_blocked: packets look up from now on.
  void bump() const;
  // Packets skip the lookup from now on if nnbpf_blocked holds no entry
  // (an insert after the check bumps gen and turns the skip off again).
  // Returns whether it was empty.
  bool mark_if_empty(int blocked_fd) const;

 private:
  explicit BlockGen(nnbpf_block_gen* g) : g_(g) {}
  nnbpf_block_gen* g_ = nullptr;
};

}  // namespace nnbpf::runtime
