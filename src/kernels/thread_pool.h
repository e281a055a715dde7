#pragma once
// A fixed set of worker threads that run one parallel loop at a time.
// The calling thread takes part, so a pool of N threads uses N-1 workers.
// parallel_for is not reentrant and must be called from one thread at a time.
//
// Built for many short loops (a decode step is ~200 of them) on machines that
// may be oversubscribed: a loop is split into size() parts that any thread
// claims with an atomic counter, so the caller runs the parts of a worker
// that has not woken up instead of waiting for it, and waits only for parts
// already being run. Workers spin on the job counter for a while (~0.5 ms)
// before sleeping on it (futex via std::atomic::wait). No allocation per loop.
#include <atomic>
#include <cstdint>
#include <thread>
#include <type_traits>
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
  // `fn` is borrowed for the call only.
  template <class Fn>
  void parallel_for(int64_t n, Fn&& fn) {
    using F = std::remove_reference_t<Fn>;
    run(n, const_cast<void*>(static_cast<const void*>(&fn)),
        [](void* f, int thread, int64_t begin, int64_t end) {
          (*static_cast<F*>(f))(thread, begin, end);
        });
  }

 private:
  using Trampoline = void (*)(void* fn, int thread, int64_t begin, int64_t end);
  void run(int64_t n, void* fn, Trampoline call);
  // Claims and runs parts of job `generation` until none is left.
  void run_parts(uint32_t generation);
  void worker();

  int n_threads_;
  std::vector<std::thread> workers_;
  // The current job; written before claims_ publishes it (release).
  void* job_fn_ = nullptr;
  Trampoline job_call_ = nullptr;
  int64_t job_n_ = 0;
  std::atomic<int> job_parts_{0};  // read before a claim, hence atomic
  // Job generation (high 32 bits) and next unclaimed part (low 32 bits): a
  // claim is a compare-exchange, so a late worker cannot claim a part of a
  // newer job by mistake.
  alignas(64) std::atomic<uint64_t> claims_{0};
  alignas(64) std::atomic<int> done_{0};      // parts of the current job finished
  alignas(64) std::atomic<int> sleeping_{0};  // workers blocked in claims_.wait
  std::atomic<bool> stopping_{false};
};

}  // namespace flashslim
