#pragma once
// A fixed set of worker threads that run one parallel loop at a time.
// The calling thread takes part, so a pool of N threads uses N-1 workers.
// parallel_for is not reentrant and must be called from one thread at a time.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace flashslim {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }
  // Calls fn(thread_index, begin, end) on disjoint ranges covering [0, n),
  // split into size() nearly equal parts; returns when all are done.
  // `fn` is borrowed for the call only (no allocation per call).
  void parallel_for(int64_t n, const std::function<void(int, int64_t, int64_t)>& fn);

 private:
  void worker(int index);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  const std::function<void(int, int64_t, int64_t)>* job_ = nullptr;
  int64_t job_n_ = 0;
  uint64_t generation_ = 0;   // bumps once per parallel_for
  int pending_ = 0;           // workers still running the current job
  bool stopping_ = false;
};

}  // namespace flashslim
