// Reading BPF maps from user space: every key of a hash map, and per-CPU
// counters summed over CPUs. The one place the runtime spells a
// bpf_map_get_next_key walk or a per-CPU sum.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace nnbpf::runtime {

// Calls fn(key) for every key of the map at `fd`, in the kernel's order, at
// most `limit` times (the walk is bounded even if the map churns). Returns
// the keys visited. fn must not delete the key it is given (the walk would
// restart from the first key).
template <class Key, class Fn>
size_t for_each_key(int fd, size_t limit, Fn&& fn) {
  Key key{}, next{};
  const Key* prev = nullptr;
  size_t n = 0;
  while (n < limit && bpf_map_get_next_key(fd, prev, &next) == 0) {
    key = next;
    prev = &key;
    ++n;
    fn(key);
  }
  return n;
}

// As for_each_key, with the value: fn(key, value) for every key whose lookup
// succeeds (a key deleted between the two calls is skipped).
template <class Key, class Value, class Fn>
size_t for_each_entry(int fd, size_t limit, Fn&& fn) {
  return for_each_key<Key>(fd, limit, [&](const Key& k) {
    Value v{};
    if (bpf_map_lookup_elem(fd, &k, &v) == 0) fn(k, v);
  });
}

// Sum over every possible CPU of the u64 per-CPU array element `key` (0 when
// it cannot be read).
inline uint64_t percpu_sum(int fd, uint32_t key) {
  const int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return 0;
  std::vector<uint64_t> vals(ncpu);
  uint64_t sum = 0;
  if (bpf_map_lookup_elem(fd, &key, vals.data()) == 0)
    for (uint64_t v : vals) sum += v;
  return sum;
}

// Sums of the u64 per-CPU array elements 0..n-1 over every possible CPU (an
// element that cannot be read counts 0). Empty when the CPUs cannot be
// counted.
inline std::vector<uint64_t> percpu_sums(int fd, uint32_t n) {
  const int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return {};
  std::vector<uint64_t> sum(n, 0), vals(ncpu);
  for (uint32_t k = 0; k < n; ++k)
    if (bpf_map_lookup_elem(fd, &k, vals.data()) == 0)
      for (uint64_t v : vals) sum[k] += v;
  return sum;
}

}  // namespace nnbpf::runtime
