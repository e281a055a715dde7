#include "bench/machine_jitter.h"

#include <algorithm>
#include <chrono>

#include "bench/kernel_file.h"
#include "bench/stats.h"
#include "core/error.h"

namespace flashslim::bench {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

uint64_t sweep_words(std::span<const uint64_t> words) {
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = 0;
  for (; i + 4 <= words.size(); i += 4) {
    s0 += words[i];
    s1 += words[i + 1];
    s2 += words[i + 2];
    s3 += words[i + 3];
  }
  for (; i < words.size(); ++i) s0 += words[i];
  return s0 + s1 + s2 + s3;
}

std::vector<double> measure_machine_jitter(uint64_t bytes, int passes, int warmup_passes) {
  if (bytes < sizeof(uint64_t)) fail("machine floor: buffer of {} bytes, need at least 8", bytes);
  if (passes < 1) fail("machine floor: {} passes, need at least 1", passes);
  // Constructing with a value writes every page: the timed passes never fault.
  const std::vector<uint64_t> words(bytes / sizeof(uint64_t), 1);
  // The sums are kept so the compiler cannot drop the sweeps.
  volatile uint64_t sink = 0;
  for (int i = 0; i < warmup_passes; ++i) sink = sink + sweep_words(words);
  std::vector<double> pass_ms;
  pass_ms.reserve(static_cast<size_t>(passes));
  for (int i = 0; i < passes; ++i) {
    const Clock::time_point start = Clock::now();
    sink = sink + sweep_words(words);
    pass_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  return pass_ms;
}

MachineFloor machine_floor(uint64_t bytes, std::span<const double> pass_ms) {
  return {bytes, static_cast<int>(pass_ms.size()), time_spread(pass_ms)};
}

nlohmann::json to_json(const MachineFloor& floor) {
  return {{"bytes", floor.bytes},
          {"passes", floor.passes},
          {"p50_ms", floor.ms.p50},
          {"p99_ms", floor.ms.p99},
          {"p99_over_p50", floor.ms.p99_over_p50}};
}

uint64_t machine_floor_bytes(uint64_t model_bytes) {
  const std::optional<uint64_t> available =
      find_meminfo_bytes(read_kernel_file("/proc/meminfo"), "MemAvailable");
  if (!available) fail("/proc/meminfo: no MemAvailable line");
  return std::min(model_bytes, *available / 2);
}

}  // namespace flashslim::bench
