#include <vlbench/core/error.hpp>
#include <vlbench/core/thread_pool.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace vlbench {
namespace {

// Runs one parallel_for and checks every index is visited exactly once, by contiguous chunks
// no longer than the grain.
void check_cover(ThreadPool& pool, std::int64_t n, std::int64_t grain) {
  std::vector<std::atomic<int>> visits(static_cast<std::size_t>(n));
  std::atomic<std::int64_t> max_chunk{0};
  std::atomic<bool> bad_range{false};
  pool.parallel_for(
      n,
      [&](std::int64_t begin, std::int64_t end) {
        if (begin < 0 || end > n || begin >= end) {
          bad_range = true;
          return;
        }
        std::int64_t length = end - begin;
        std::int64_t seen = max_chunk.load();
        while (length > seen && !max_chunk.compare_exchange_weak(seen, length)) {
        }
        for (std::int64_t i = begin; i < end; ++i) ++visits[static_cast<std::size_t>(i)];
      },
      grain);
  ASSERT_FALSE(bad_range) << "n=" << n << " grain=" << grain;
  for (std::int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(visits[static_cast<std::size_t>(i)], 1)
        << "n=" << n << " grain=" << grain << " i=" << i;
  }
  const std::int64_t limit = grain > 0 ? grain : (n + pool.size() - 1) / pool.size();
  EXPECT_LE(max_chunk.load(), limit) << "n=" << n << " grain=" << grain;
}

TEST(ThreadPool, CoversEveryIndexExactlyOnce) {
  for (int threads : {1, 2, 3, 4, 8}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (std::int64_t n : {0, 1, 2, 3, 7, 64, 1000, 10007}) {
      for (std::int64_t grain : {0, 1, 3, 64, 100000}) check_cover(pool, n, grain);
    }
  }
}

TEST(ThreadPool, DefaultGrainSplitsEvenly) {
  ThreadPool pool(4);
  std::mutex mutex;
  std::set<std::pair<std::int64_t, std::int64_t>> chunks;
  pool.parallel_for(10, [&](std::int64_t begin, std::int64_t end) {
    std::lock_guard lock(mutex);
    chunks.emplace(begin, end);
  });
  // grain = ceil(10 / 4) = 3.
  EXPECT_EQ(chunks,
            (std::set<std::pair<std::int64_t, std::int64_t>>{{0, 3}, {3, 6}, {6, 9}, {9, 10}}));
}

TEST(ThreadPool, DefaultSizeIsHardwareConcurrency) {
  const int expected = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  EXPECT_EQ(ThreadPool(0).size(), expected);
  EXPECT_EQ(ThreadPool(-3).size(), expected);
}

TEST(ThreadPool, PoolOfOneRunsOnCallingThread) {
  ThreadPool pool(1);
  const auto caller = std::this_thread::get_id();
  int calls = 0;
  bool other_thread = false;
  pool.parallel_for(
      10,
      [&](std::int64_t, std::int64_t) {
        ++calls;
        other_thread |= std::this_thread::get_id() != caller;
      },
      3);
  EXPECT_EQ(calls, 4);
  EXPECT_FALSE(other_thread);
}

TEST(ThreadPool, ExceptionPropagatesAndPoolStaysUsable) {
  for (int threads : {1, 4}) {
    ThreadPool pool(threads);
    try {
      pool.parallel_for(
          100,
          [](std::int64_t begin, std::int64_t) {
            if (begin == 50) fail("chunk {} failed", begin);
          },
          10);
      FAIL() << "no exception";
    } catch (const Error& e) {
      EXPECT_STREQ(e.what(), "chunk 50 failed");
    }
    // Every chunk throws: exactly one exception comes out, of the thrown type.
    EXPECT_THROW(pool.parallel_for(
                     100, [](std::int64_t, std::int64_t) { throw std::out_of_range("x"); }, 1),
                 std::out_of_range);
    check_cover(pool, 1000, 7);
  }
}

TEST(ThreadPool, ReusedAcrossManyCalls) {
  ThreadPool pool(4);
  std::atomic<std::int64_t> total{0};
  for (int call = 0; call < 2000; ++call) {
    pool.parallel_for(
        call % 37,
        [&](std::int64_t begin, std::int64_t end) {
          for (std::int64_t i = begin; i < end; ++i) total += i;
        },
        call % 5);
  }
  std::int64_t expected = 0;
  for (int call = 0; call < 2000; ++call) expected += (call % 37) * (call % 37 - 1) / 2;
  EXPECT_EQ(total.load(), expected);
}

TEST(ThreadPool, CallsFromSeveralThreadsAreSerialised) {
  ThreadPool pool(3);
  std::atomic<std::int64_t> total{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] {
      for (int call = 0; call < 200; ++call) {
        pool.parallel_for(
            100, [&](std::int64_t begin, std::int64_t end) { total += end - begin; }, 7);
      }
    });
  }
  for (std::thread& caller : callers) caller.join();
  EXPECT_EQ(total.load(), 4 * 200 * 100);
}

TEST(ThreadPool, NestedUseOfAnotherPoolWorks) {
  ThreadPool outer(2);
  ThreadPool inner(1);
  std::atomic<std::int64_t> total{0};
  outer.parallel_for(
      2,
      [&](std::int64_t, std::int64_t) {
        // inner is a different pool; a pool of 1 runs inline so this cannot contend.
        inner.parallel_for(10, [&](std::int64_t b, std::int64_t e) { total += e - b; });
      },
      1);
  EXPECT_EQ(total.load(), 20);
}

TEST(ThreadPoolDeathTest, ReentrantCallAsserts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        ThreadPool pool(2);
        pool.parallel_for(
            4, [&](std::int64_t, std::int64_t) { pool.parallel_for(2, [](auto, auto) {}); }, 1);
      },
      "assertion `t_running_pool != this` failed");
}

}  // namespace
}  // namespace vlbench
