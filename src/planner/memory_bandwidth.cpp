#include "planner/memory_bandwidth.h"

#include <algorithm>
#include <atomic>
#include <vector>

#include "bench/kernel_file.h"
#include "core/error.h"
#include "core/size.h"
#include "storage/io_stats.h"

namespace flashslim::planner {

uint64_t last_level_cache_bytes() {
  uint64_t largest = 0;
  for (int index = 0; index < 8; ++index) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index);
    const auto size = bench::try_read_kernel_file(dir + "/size");
    if (!size) break;
    std::string text = *size;
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    try {
      largest = std::max(largest, parse_size(text, std::nullopt));  // "107520K"
    } catch (const Error&) {
    }
  }
  return largest;
}

double measure_memory_bandwidth(ThreadPool& pool, uint64_t buffer_bytes, int repeats) {
  std::vector<uint64_t> buffer(buffer_bytes / sizeof(uint64_t));
  for (size_t i = 0; i < buffer.size(); ++i) buffer[i] = i;  // touch every page
  std::atomic<uint64_t> sink{0};
  double best = 0;
  for (int r = 0; r < repeats; ++r) {
    const uint64_t t0 = storage::now_ns();
    pool.parallel_for(static_cast<int64_t>(buffer.size()), [&](int, int64_t begin, int64_t end) {
      // Four independent sums so the loop is bound by loads, not by one add chain.
      uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      int64_t i = begin;
      for (; i + 4 <= end; i += 4) {
        s0 += buffer[i];
        s1 += buffer[i + 1];
        s2 += buffer[i + 2];
        s3 += buffer[i + 3];
      }
      for (; i < end; ++i) s0 += buffer[i];
      sink.fetch_add(s0 + s1 + s2 + s3, std::memory_order_relaxed);
    });
    const double ns = static_cast<double>(storage::now_ns() - t0);
    best = std::max(best, static_cast<double>(buffer.size() * sizeof(uint64_t)) / ns);
  }
  return best;
}

}  // namespace flashslim::planner
