#pragma once
// Counters of the reads a Storage served, for the statistics the runtime prints.
#include <atomic>
#include <chrono>
#include <cstdint>

namespace flashslim::storage {

struct IoStats {
  uint64_t reads = 0;    // completed reads (sync and async), failed ones excluded
  uint64_t bytes = 0;    // file bytes delivered by those reads
  uint64_t read_ns = 0;  // sum of per-read latencies, ns (async: from issue to
                         // completion); exceeds wall time when reads overlap
  uint64_t failed_reads = 0;

  double seconds() const { return static_cast<double>(read_ns) * 1e-9; }
};

// Monotonic clock in ns, for read latencies.
inline uint64_t now_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

// Thread-safe accumulator behind Storage::stats().
class IoCounters {
 public:
  void record(uint64_t bytes, uint64_t ns) {
    reads_.fetch_add(1, std::memory_order_relaxed);
    bytes_.fetch_add(bytes, std::memory_order_relaxed);
    read_ns_.fetch_add(ns, std::memory_order_relaxed);
  }
  void record_failure() { failed_reads_.fetch_add(1, std::memory_order_relaxed); }
  IoStats snapshot() const {
    return {reads_.load(std::memory_order_relaxed), bytes_.load(std::memory_order_relaxed),
            read_ns_.load(std::memory_order_relaxed),
            failed_reads_.load(std::memory_order_relaxed)};
  }

 private:
  std::atomic<uint64_t> reads_{0};
  std::atomic<uint64_t> bytes_{0};
  std::atomic<uint64_t> read_ns_{0};
  std::atomic<uint64_t> failed_reads_{0};
};

}  // namespace flashslim::storage
