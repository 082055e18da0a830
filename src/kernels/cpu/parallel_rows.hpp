// Splits [0, n) over a ThreadPool when there is one and enough work, else runs it inline.
#pragma once

#include <vlbench/core/thread_pool.hpp>

#include <cstdint>
#include <functional>

namespace vlbench {

// fn(begin, end) over disjoint chunks of [0, n). `cost_per_item` (rough flops) decides
// whether waking the workers pays: small jobs run on the calling thread.
inline void parallel_rows(ThreadPool* pool, std::int64_t n, std::int64_t cost_per_item,
                          const std::function<void(std::int64_t, std::int64_t)>& fn) {
  constexpr std::int64_t kMinParallelCost = 1 << 15;
  if (n <= 0) return;
  if (pool == nullptr || pool->size() <= 1 || n == 1 || n * cost_per_item < kMinParallelCost) {
    fn(0, n);
    return;
  }
  pool->parallel_for(n, fn);
}

}  // namespace vlbench
