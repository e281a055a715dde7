// The machine-floor probe: it times as many passes as asked, each a positive time, and its
// summary's percentiles are those of the pass times. Nothing is asserted about how large
// the jitter is: that is what the probe measures, and it depends on the machine's load.
#include <gtest/gtest.h>

#include "bench/machine_jitter.h"
#include "bench/stats.h"
#include "core/error.h"

using namespace flashslim::bench;

TEST(BenchMachineJitter, TimesEveryPassOfASmallBuffer) {
  constexpr uint64_t kBytes = 1 << 20;
  const std::vector<double> pass_ms = measure_machine_jitter(kBytes, 40, 1);
  ASSERT_EQ(pass_ms.size(), 40u);
  for (double ms : pass_ms) EXPECT_GT(ms, 0);
  const MachineFloor floor = machine_floor(kBytes, pass_ms);
  EXPECT_EQ(floor.bytes, kBytes);
  EXPECT_EQ(floor.passes, 40);
  EXPECT_DOUBLE_EQ(floor.ms.p50, percentile(pass_ms, 50));
  EXPECT_DOUBLE_EQ(floor.ms.p99, percentile(pass_ms, 99));
  EXPECT_GE(floor.ms.p99_over_p50, 1.0);
  const nlohmann::json j = to_json(floor);
  EXPECT_EQ(j["passes"], 40);
  EXPECT_DOUBLE_EQ(j["p50_ms"].get<double>(), floor.ms.p50);
  EXPECT_DOUBLE_EQ(j["p99_ms"].get<double>(), floor.ms.p99);
  EXPECT_DOUBLE_EQ(j["p99_over_p50"].get<double>(), floor.ms.p99_over_p50);
  EXPECT_EQ(j.size(), 5u);  // bytes, passes, p50_ms, p99_ms, p99_over_p50: summary.json's keys
}

TEST(BenchMachineJitter, KnownPassTimesAndBadArguments) {
  const std::vector<double> pass_ms = {10, 10, 10, 10, 20};
  const MachineFloor floor = machine_floor(4096, pass_ms);
  EXPECT_DOUBLE_EQ(floor.ms.p50, 10);
  EXPECT_DOUBLE_EQ(floor.ms.p99, 10 + 0.96 * 10);  // h = 3.96 between 10 and 20
  EXPECT_DOUBLE_EQ(floor.ms.p99_over_p50, 1.96);
  EXPECT_THROW(measure_machine_jitter(4, 10), flashslim::Error);
  EXPECT_THROW(measure_machine_jitter(4096, 0), flashslim::Error);
}

TEST(BenchMachineJitter, BufferIsTheModelCappedByHalfOfMemAvailable) {
  EXPECT_EQ(machine_floor_bytes(4096), 4096u);
  const uint64_t capped = machine_floor_bytes(uint64_t{1} << 60);
  EXPECT_GT(capped, 0u);
  EXPECT_LT(capped, uint64_t{1} << 60);
}
