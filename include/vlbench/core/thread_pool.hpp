// A fixed pool of worker threads with a blocking parallel_for.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
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
  // here after all chunks have finished (exceptions never escape a worker thread). Once fn
  // has thrown, chunks not yet started are skipped.
  // Not reentrant: do not call parallel_for from inside fn.
  void parallel_for(std::int64_t n, const std::function<void(std::int64_t, std::int64_t)>& fn,
                    std::int64_t grain = 0);

 private:
  void worker_loop();
  // Claims chunks of the current job until none are left (or one has thrown).
  void run_chunks();

  int n_threads_ = 1;
  std::vector<std::thread> workers_;  // n_threads_ - 1: the caller is the last one
  std::mutex call_mutex_;             // serialises parallel_for calls made from different threads
  std::mutex mutex_;
  std::condition_variable wake_;  // workers wait here for a new generation or stop_
  std::condition_variable done_;  // parallel_for waits here for active_ == 0
  // The current job; written under mutex_ before generation_ is bumped.
  const std::function<void(std::int64_t, std::int64_t)>* job_ = nullptr;
  std::int64_t n_ = 0;
  std::int64_t grain_ = 1;
  std::int64_t n_chunks_ = 0;
  std::atomic<std::int64_t> next_chunk_{0};  // next chunk index to claim
  std::atomic<bool> failed_{false};          // fn has thrown: claim no more chunks
  int active_ = 0;                           // workers not yet done with this generation
  std::uint64_t generation_ = 0;             // one per parallel_for
  bool stop_ = false;
  std::exception_ptr error_;  // the first exception fn threw, guarded by mutex_
};

}  // namespace vlbench
