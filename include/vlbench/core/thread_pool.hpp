// A fixed pool of worker threads with a blocking parallel_for.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace vlbench {

class ThreadPool {
 public:
  // n_threads <= 0 means std::thread::hardware_concurrency(). The calling thread takes part
  // in every parallel_for, so a pool of 1 starts no extra thread.
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Calls fn(begin, end) over disjoint chunks that cover [0, n), in parallel, and waits.
  // Chunks are contiguous and at most `grain` long (grain <= 0: n / size() rounded up).
  // An exception thrown by fn is caught inside the worker and the first one is rethrown
  // here after all chunks have finished (exceptions never escape a worker thread).
  // Not reentrant: do not call parallel_for from inside fn.
  void parallel_for(std::int64_t n, const std::function<void(std::int64_t, std::int64_t)>& fn,
                    std::int64_t grain = 0);

 private:
  void worker_loop();
  // (implementation state; see thread_pool.cpp)
  int n_threads_ = 1;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(std::int64_t, std::int64_t)>* job_ = nullptr;
  std::int64_t n_ = 0;
  std::int64_t grain_ = 1;
  std::int64_t next_ = 0;
  int active_ = 0;
  std::uint64_t generation_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
};

}  // namespace vlbench
