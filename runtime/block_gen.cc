#include "runtime/block_gen.h"

#include <bpf/bpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime/pins.h"
#include "runtime/util.h"

namespace nnbpf::runtime {

Result<BlockGen> BlockGen::map(int fd) {
  void* p = mmap(nullptr, static_cast<size_t>(sysconf(_SC_PAGESIZE)), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED)
    return Error::runtime(std::string(NNBPF_MAP_BLOCK_GEN) + ": cannot map: " + std::strerror(errno));
  return BlockGen(static_cast<nnbpf_block_gen*>(p));
}

Result<BlockGen> BlockGen::open_pinned(const std::string& iface) {
  if (access((pin_dir(iface) + "/" NNBPF_MAP_BLOCK_GEN).c_str(), F_OK) != 0) return BlockGen(nullptr);
  NNBPF_TRY(fd, runtime::open_pinned(iface, NNBPF_MAP_BLOCK_GEN));
  Fd m(fd);
  return map(m.fd);
}

BlockGen::~BlockGen() {
  if (g_) munmap(g_, static_cast<size_t>(sysconf(_SC_PAGESIZE)));
}

void BlockGen::bump() const {
  if (g_) __atomic_fetch_add(&g_->gen, 1, __ATOMIC_SEQ_CST);
}

bool BlockGen::mark_if_empty(int blocked_fd) const {
  if (!g_) return false;
  // gen first: an insert the emptiness check misses bumps it after this read.
  const uint64_t gen = __atomic_load_n(&g_->gen, __ATOMIC_SEQ_CST);
  uint8_t key[sizeof(nnbpf_addr)];
  if (bpf_map_get_next_key(blocked_fd, nullptr, key) == 0 || errno != ENOENT) return false;
  __atomic_store_n(&g_->empty_at, gen + 1, __ATOMIC_SEQ_CST);
  return true;
}

}  // namespace nnbpf::runtime
