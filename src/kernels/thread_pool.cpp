#include "kernels/thread_pool.h"

#include <pthread.h>

#include <algorithm>

namespace flashslim {

namespace {

// Range of part `i` of `parts` nearly equal parts of [0, n).
std::pair<int64_t, int64_t> part_range(int64_t n, int parts, int i) {
  const int64_t base = n / parts, extra = n % parts;
  const int64_t begin = i * base + std::min<int64_t>(i, extra);
  return {begin, begin + base + (i < extra ? 1 : 0)};
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Spins before a worker sleeps (each pause is ~30-140 cycles).
constexpr int kSpinsBeforeSleep = 1 << 14;
// Spins of the caller between yields while workers finish (a worker may have
// been descheduled on a loaded machine).
constexpr int kSpinsBeforeYield = 1 << 10;

}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads < 1 ? 1 : n_threads) {
  for (int i = 1; i < n_threads_; ++i) {
    workers_.emplace_back([this] { worker(); });
    // Named so /proc/PID/task/*/comm tells compute workers apart (bench records per thread).
    ::pthread_setname_np(workers_.back().native_handle(), "fs-compute");
  }
}

ThreadPool::~ThreadPool() {
  stopping_.store(true);
  claims_.fetch_add(uint64_t{1} << 32);
  claims_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_parts(uint32_t generation) {
  uint64_t c = claims_.load(std::memory_order_acquire);
  for (;;) {
    if (static_cast<uint32_t>(c >> 32) != generation) return;
    const auto part = static_cast<int>(c & 0xffffffffu);
    const int parts = job_parts_.load(std::memory_order_relaxed);
    if (part >= parts) return;
    if (!claims_.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel)) continue;
    const auto [begin, end] = part_range(job_n_, parts, part);
    job_call_(job_fn_, part, begin, end);
    done_.fetch_add(1, std::memory_order_acq_rel);
    c = claims_.load(std::memory_order_acquire);
  }
}

void ThreadPool::run(int64_t n, void* fn, Trampoline call) {
  if (n <= 0) return;
  if (n_threads_ == 1 || n == 1) {
    call(fn, 0, 0, n);
    return;
  }
  job_fn_ = fn;
  job_call_ = call;
  job_n_ = n;
  const int parts = static_cast<int>(std::min<int64_t>(n_threads_, n));
  job_parts_.store(parts, std::memory_order_relaxed);
  done_.store(0, std::memory_order_relaxed);
  const uint32_t generation =
      static_cast<uint32_t>(claims_.load(std::memory_order_relaxed) >> 32) + 1;
  claims_.store(static_cast<uint64_t>(generation) << 32);  // seq_cst: pairs with sleeping_
  if (sleeping_.load() > 0) claims_.notify_all();
  run_parts(generation);
  for (int spins = 0; done_.load(std::memory_order_acquire) != parts; ++spins) {
    if (spins % kSpinsBeforeYield == kSpinsBeforeYield - 1)
      std::this_thread::yield();
    else
      cpu_relax();
  }
}

void ThreadPool::worker() {
  uint32_t seen = 0;
  for (;;) {
    uint64_t now = claims_.load(std::memory_order_acquire);
    for (int spins = 0; static_cast<uint32_t>(now >> 32) == seen && spins < kSpinsBeforeSleep;
         ++spins) {
      cpu_relax();
      now = claims_.load(std::memory_order_acquire);
    }
    if (static_cast<uint32_t>(now >> 32) == seen) {
      sleeping_.fetch_add(1);
      claims_.wait(now);  // returns at once if a job was published meanwhile
      sleeping_.fetch_sub(1);
      now = claims_.load(std::memory_order_acquire);
    }
    if (stopping_.load()) return;
    seen = static_cast<uint32_t>(now >> 32);
    run_parts(seen);
  }
}

}  // namespace flashslim
