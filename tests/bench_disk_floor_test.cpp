// The disk-floor probe: on a small fixture file it times as many windows as asked, of
// whole reads, each a positive time, and its summary's percentiles are those of the
// window times. Nothing is asserted about how large the jitter is: that is what the probe
// measures, and it depends on the disk and the machine's load.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <optional>

#include "bench/disk_floor.h"
#include "bench/experiment_config.h"
#include "bench/stats.h"
#include "core/error.h"
#include "model/model.h"

using namespace flashslim;
using namespace flashslim::bench;

namespace {

const std::string kFile = std::string(FLASHSLIM_FIXTURES) + "/synth/tiny-llama-Q4_0.gguf";
constexpr uint64_t kMiB = 1 << 20;

}  // namespace

TEST(BenchDiskFloor, TimesEveryWindowOfAFixtureFile) {
  const Model model(kFile);
  const DiskReadShape shape = {kMiB, 8};
  std::vector<double> window_ms;
  try {
    // 3 MiB windows over ~8 MiB of data: the reads wrap around the file.
    window_ms = measure_disk_windows(kFile, model.file().data_offset, shape, 3 * kMiB, 40);
  } catch (const Error& e) {
    if (std::string(e.what()).find("not io_uring O_DIRECT") == std::string::npos) throw;
    GTEST_SKIP() << e.what();
  }
  ASSERT_EQ(window_ms.size(), 40u);
  for (double ms : window_ms) EXPECT_GT(ms, 0);
  const DiskFloor floor = disk_floor(3 * kMiB, window_ms);
  EXPECT_EQ(floor.window_bytes, 3 * kMiB);
  EXPECT_EQ(floor.windows, 40);
  EXPECT_DOUBLE_EQ(floor.ms.p50, percentile(window_ms, 50));
  EXPECT_DOUBLE_EQ(floor.ms.p99, percentile(window_ms, 99));
  EXPECT_DOUBLE_EQ(floor.ms.max, percentile(window_ms, 100));
  EXPECT_GE(floor.ms.p99_over_p50, 1.0);
  EXPECT_GT(floor.gbps_median, 0);
  const nlohmann::json j = to_json(floor);
  EXPECT_EQ(j["windows"], 40);
  EXPECT_EQ(j["window_bytes"], 3 * kMiB);
  EXPECT_DOUBLE_EQ(j["p99_over_p50"].get<double>(), floor.ms.p99_over_p50);
  EXPECT_DOUBLE_EQ(j["max_ms"].get<double>(), floor.ms.max);
  EXPECT_DOUBLE_EQ(j["gbps_median"].get<double>(), floor.gbps_median);
}

TEST(BenchDiskFloor, TimesEveryWindowBesideMemorySweeps) {
  const Model model(kFile);
  const MemorySweeps sweeps = {4 * kMiB, 2};
  SweptWindows swept;
  try {
    swept = measure_disk_windows_beside_sweeps(kFile, model.file().data_offset, {kMiB, 8}, 3 * kMiB,
                                               40, sweeps);
  } catch (const Error& e) {
    if (std::string(e.what()).find("not io_uring O_DIRECT") == std::string::npos) throw;
    GTEST_SKIP() << e.what();
  }
  ASSERT_EQ(swept.window_ms.size(), 40u);
  for (double ms : swept.window_ms) EXPECT_GT(ms, 0);
  // One sweep a window at most (a window starting while one runs adds at most one waiting);
  // the first starts with the first window and is done before the threads stop.
  EXPECT_GE(swept.sweep_ms.size(), 1u);
  EXPECT_LE(swept.sweep_ms.size(), 40u);
  for (double ms : swept.sweep_ms) EXPECT_GT(ms, 0);
  const nlohmann::json j = to_json(sweeps, swept.sweep_ms);
  EXPECT_EQ(j["sweep_bytes"], 4 * kMiB);
  EXPECT_EQ(j["sweep_threads"], 2);
  EXPECT_EQ(j["sweeps"], swept.sweep_ms.size());
  EXPECT_DOUBLE_EQ(j["sweep_p50_ms"].get<double>(), median(swept.sweep_ms));
  EXPECT_THROW(measure_disk_windows_beside_sweeps(kFile, model.file().data_offset, {kMiB, 8}, kMiB,
                                                  4, {4 * kMiB, 0}),
               Error);
  EXPECT_THROW(measure_disk_windows_beside_sweeps(kFile, model.file().data_offset, {kMiB, 8}, kMiB,
                                                  4, {8, 2}),
               Error);
}

TEST(BenchDiskFloor, KnownWindowTimes) {
  const std::vector<double> window_ms = {10, 10, 10, 10, 20};
  const DiskFloor floor = disk_floor(2'000'000, window_ms);
  EXPECT_DOUBLE_EQ(floor.ms.p50, 10);
  EXPECT_DOUBLE_EQ(floor.ms.p99, 10 + 0.96 * 10);  // h = 3.96 between 10 and 20
  EXPECT_DOUBLE_EQ(floor.ms.max, 20);
  EXPECT_DOUBLE_EQ(floor.ms.p99_over_p50, 1.96);
  EXPECT_DOUBLE_EQ(floor.gbps_median, 0.2);  // 2 MB in 10 ms; the slow window read 0.1
}

TEST(BenchDiskFloor, WindowsAreWholeReadsAndBadArgumentsThrow) {
  EXPECT_EQ(whole_reads(3 * kMiB + kMiB * 4 / 10, kMiB), 3 * kMiB);
  EXPECT_EQ(whole_reads(3 * kMiB + kMiB * 6 / 10, kMiB), 4 * kMiB);
  EXPECT_EQ(whole_reads(100, kMiB), kMiB);
  const Model model(kFile);
  EXPECT_THROW(measure_disk_windows(kFile, model.file().data_offset, {kMiB, 8}, kMiB, 0), Error);
  EXPECT_THROW(measure_disk_windows("/nonexistent/model.gguf", 0, {kMiB, 8}, kMiB, 4), Error);
}

TEST(BenchDiskFloor, PlannedBytesPerTokenFollowTheBudget) {
  const Model model(kFile);
  RunSpec run;
  run.budget.text = "B";
  run.threads = 1;
  run.ctx = 64;
  run.prompt_tokens = 3;
  constexpr uint64_t kBaseline = 10 * kMiB;
  try {
    planned_read_bytes_per_token(model, run, kMiB, kBaseline);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    // `run`'s refusal: the budget, the minimum in bytes and what the memory is made of.
    const std::string what = e.what();
    EXPECT_EQ(what.rfind(fmt::format("--budget {} bytes", kMiB), 0), 0u) << what;
    EXPECT_NE(what.find("below the minimum of "), std::string::npos) << what;
    EXPECT_NE(what.find("process "), std::string::npos) << what;
  }
  // The least budget a stream plan fits streams the most; a budget that holds the whole
  // model streams nothing.
  const auto planned = [&](uint64_t budget) -> std::optional<uint64_t> {
    try {
      return planned_read_bytes_per_token(model, run, budget, kBaseline);
    } catch (const Error&) {
      return std::nullopt;  // below the least a stream plan needs
    }
  };
  uint64_t least = kMiB;
  while (!planned(least) && least < 256 * kMiB) least += 64 << 10;
  const uint64_t most = planned(least).value_or(0);
  EXPECT_GT(most, 0u);
  EXPECT_LT(most, model.file().file_size);
  EXPECT_EQ(most % 4096, 0u);  // whole O_DIRECT reads
  EXPECT_LT(planned_read_bytes_per_token(model, run, least + (512 << 10), kBaseline), most);
  EXPECT_EQ(planned_read_bytes_per_token(model, run, uint64_t{1} << 30, kBaseline), 0u);
  // A larger process leaves less for the weights.
  EXPECT_GT(planned_read_bytes_per_token(model, run, least + (512 << 10), kBaseline + (256 << 10)),
            planned_read_bytes_per_token(model, run, least + (512 << 10), kBaseline));
}
