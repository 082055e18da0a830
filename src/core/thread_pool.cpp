#include <vlbench/core/thread_pool.hpp>

#include <vlbench/core/error.hpp>

#include <algorithm>
#include <utility>

namespace vlbench {

namespace {

// The pool whose fn the current thread is running, to catch reentrant parallel_for calls
// (they would deadlock) with an assertion instead.
thread_local const ThreadPool* t_running_pool = nullptr;

struct RunningPoolScope {
  explicit RunningPoolScope(const ThreadPool* pool) : saved(t_running_pool) {
    t_running_pool = pool;
  }
  ~RunningPoolScope() { t_running_pool = saved; }
  const ThreadPool* saved;
};

}  // namespace

ThreadPool::ThreadPool(int n_threads) {
  if (n_threads <= 0) n_threads = static_cast<int>(std::thread::hardware_concurrency());
  n_threads_ = std::max(n_threads, 1);
  workers_.reserve(static_cast<std::size_t>(n_threads_ - 1));
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

void ThreadPool::parallel_for(std::int64_t n,
                              const std::function<void(std::int64_t, std::int64_t)>& fn,
                              std::int64_t grain) {
  VLB_ASSERT(t_running_pool != this);  // parallel_for called from inside its own fn
  if (n <= 0) return;
  if (grain <= 0) grain = (n - 1) / n_threads_ + 1;
  const std::int64_t n_chunks = (n - 1) / grain + 1;  // no overflow, unlike n + grain - 1

  if (workers_.empty() || n_chunks == 1) {
    // Nothing to share: run the chunks here; an exception simply propagates.
    RunningPoolScope scope(this);
    for (std::int64_t begin = 0; begin < n; begin += std::min(grain, n - begin)) {
      fn(begin, begin + std::min(grain, n - begin));
    }
    return;
  }

  std::lock_guard call_lock(call_mutex_);
  {
    std::lock_guard lock(mutex_);
    job_ = &fn;
    n_ = n;
    grain_ = grain;
    n_chunks_ = n_chunks;
    next_chunk_.store(0, std::memory_order_relaxed);
    failed_.store(false, std::memory_order_relaxed);
    error_ = nullptr;
    // Every worker takes part in every generation (possibly claiming nothing), so counting
    // them all down tells when no one can still be inside fn.
    active_ = static_cast<int>(workers_.size());
    ++generation_;
  }
  wake_.notify_all();
  run_chunks();

  std::exception_ptr error;
  {
    std::unique_lock lock(mutex_);
    done_.wait(lock, [this] { return active_ == 0; });
    job_ = nullptr;
    error = std::exchange(error_, nullptr);
  }
  if (error) std::rethrow_exception(error);
}

void ThreadPool::run_chunks() {
  RunningPoolScope scope(this);
  while (!failed_.load(std::memory_order_relaxed)) {
    const std::int64_t chunk = next_chunk_.fetch_add(1, std::memory_order_relaxed);
    if (chunk >= n_chunks_) break;
    const std::int64_t begin = chunk * grain_;
    const std::int64_t end = begin + std::min(grain_, n_ - begin);
    try {
      (*job_)(begin, end);
    } catch (...) {
      std::lock_guard lock(mutex_);
      if (!error_) error_ = std::current_exception();
      failed_.store(true, std::memory_order_relaxed);
    }
  }
}

void ThreadPool::worker_loop() {
  std::uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
    }
    run_chunks();
    {
      std::lock_guard lock(mutex_);
      if (--active_ == 0) done_.notify_one();
    }
  }
}

}  // namespace vlbench
