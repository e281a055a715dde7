// The disk-floor probe: on a small fixture file it reads, in every window, exactly the
// reads it is given (a plan's token reads: every chunk laid out as the runtime lays it
// out), times as many windows as asked, each a positive time, and its summary's
// percentiles are those of the window times. Nothing is asserted about how large the
// jitter is: that is what the probe measures, and it depends on the disk and the machine's
// load.
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
constexpr uint64_t kBaseline = 10 * kMiB;
// The longest read: short, so that the fixture's chunks are cut into several reads.
constexpr uint64_t kMaxRead = 8 << 10;

RunSpec small_run() {
  RunSpec run;
  run.budget.text = "B";
  run.threads = 1;
  run.ctx = 64;
  run.prompt_tokens = 3;
  return run;
}

// The least budget (in 64 KiB steps) whose stream plan of `run` fits, with the plan.
std::pair<uint64_t, StreamPlan> least_stream_plan(const Model& model, const RunSpec& run) {
  for (uint64_t budget = kMiB; budget < 256 * kMiB; budget += 64 << 10) {
    try {
      return {budget, planned_stream_plan(model, run, budget, kBaseline)};
    } catch (const Error&) {
      // below the least a stream plan needs
    }
  }
  throw Error("no stream plan of the fixture under 256 MiB");
}

// The fixture's token reads at the least budget.
std::vector<AlignedRead> fixture_token_reads(const Model& model) {
  return token_reads(least_stream_plan(model, small_run()).second, kMaxRead);
}

uint64_t total_bytes(std::span<const AlignedRead> reads) {
  uint64_t bytes = 0;
  for (const AlignedRead& r : reads) bytes += r.length;
  return bytes;
}

}  // namespace

TEST(BenchDiskFloor, TokenReadsAreThePlansChunksLaidOutInOrder) {
  const Model model(kFile);
  const RunSpec run = small_run();
  const auto [budget, plan] = least_stream_plan(model, run);
  ASSERT_GT(plan.chunks.size(), 1u);
  const std::vector<AlignedRead> reads = token_reads(plan, kMaxRead);
  // Chunk by chunk in plan order, each as the runtime lays it out.
  size_t next = 0;
  for (const Chunk& c : plan.chunks) {
    for (const AlignedRead& r : layout_reads(c.parts, kStreamReadAlignment, kMaxRead).reads) {
      ASSERT_LT(next, reads.size());
      EXPECT_EQ(reads[next].file_offset, r.file_offset) << "read " << next;
      EXPECT_EQ(reads[next].length, r.length) << "read " << next;
      ++next;
    }
  }
  EXPECT_EQ(next, reads.size());
  EXPECT_GT(reads.size(), plan.chunks.size());  // some chunk is more than one read
  for (const AlignedRead& r : reads) EXPECT_LE(r.length, kMaxRead);
  EXPECT_EQ(total_bytes(reads), planned_read_bytes_per_token(model, run, budget, kBaseline));
}

TEST(BenchDiskFloor, EveryWindowReadsTheTokensReads) {
  const Model model(kFile);
  const std::vector<AlignedRead> reads = fixture_token_reads(model);
  std::vector<planner::TimedWindow> windows;
  try {
    windows = measure_disk_windows(kFile, reads, 8, 40);
  } catch (const Error& e) {
    if (std::string(e.what()).find("not io_uring O_DIRECT") == std::string::npos) throw;
    GTEST_SKIP() << e.what();
  }
  ASSERT_EQ(windows.size(), 40u);
  for (const planner::TimedWindow& w : windows) {
    EXPECT_GT(w.ns, 0u);
    EXPECT_EQ(w.reads, reads.size());
    EXPECT_EQ(w.bytes, total_bytes(reads));
  }
  const DiskFloor floor = disk_floor(windows);
  EXPECT_EQ(floor.window_bytes, total_bytes(reads));
  EXPECT_EQ(floor.reads_per_window, reads.size());
  EXPECT_EQ(floor.windows, 40);
  std::vector<double> window_ms;
  for (const planner::TimedWindow& w : windows) window_ms.push_back(w.ns / 1e6);
  EXPECT_DOUBLE_EQ(floor.ms.p50, percentile(window_ms, 50));
  EXPECT_DOUBLE_EQ(floor.ms.p99, percentile(window_ms, 99));
  EXPECT_DOUBLE_EQ(floor.ms.max, percentile(window_ms, 100));
  EXPECT_GE(floor.ms.p99_over_p50, 1.0);
  EXPECT_GT(floor.gbps_median, 0);
  const nlohmann::json j = to_json(floor);
  EXPECT_EQ(j["windows"], 40);
  EXPECT_EQ(j["window_bytes"], total_bytes(reads));
  EXPECT_EQ(j["reads_per_window"], reads.size());
  EXPECT_DOUBLE_EQ(j["mean_read_bytes"].get<double>(),
                   static_cast<double>(total_bytes(reads)) / reads.size());
  EXPECT_DOUBLE_EQ(j["p99_over_p50"].get<double>(), floor.ms.p99_over_p50);
  EXPECT_DOUBLE_EQ(j["max_ms"].get<double>(), floor.ms.max);
  EXPECT_DOUBLE_EQ(j["gbps_median"].get<double>(), floor.gbps_median);
}

TEST(BenchDiskFloor, TimesEveryWindowBesideMemorySweeps) {
  const Model model(kFile);
  const std::vector<AlignedRead> reads = fixture_token_reads(model);
  const MemorySweeps sweeps = {4 * kMiB, 2};
  SweptWindows swept;
  try {
    swept = measure_disk_windows_beside_sweeps(kFile, reads, 8, 40, sweeps);
  } catch (const Error& e) {
    if (std::string(e.what()).find("not io_uring O_DIRECT") == std::string::npos) throw;
    GTEST_SKIP() << e.what();
  }
  ASSERT_EQ(swept.windows.size(), 40u);
  for (const planner::TimedWindow& w : swept.windows) {
    EXPECT_GT(w.ns, 0u);
    EXPECT_EQ(w.reads, reads.size());
    EXPECT_EQ(w.bytes, total_bytes(reads));
  }
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
  EXPECT_THROW(measure_disk_windows_beside_sweeps(kFile, reads, 8, 4, {4 * kMiB, 0}), Error);
  EXPECT_THROW(measure_disk_windows_beside_sweeps(kFile, reads, 8, 4, {8, 2}), Error);
}

TEST(BenchDiskFloor, KnownWindowTimes) {
  // 2 MB in 2 reads a window; the slow window reads at half the rate.
  const std::vector<planner::TimedWindow> windows = {{10'000'000, 2, 2'000'000},
                                                     {10'000'000, 2, 2'000'000},
                                                     {10'000'000, 2, 2'000'000},
                                                     {10'000'000, 2, 2'000'000},
                                                     {20'000'000, 2, 2'000'000}};
  const DiskFloor floor = disk_floor(windows);
  EXPECT_EQ(floor.window_bytes, 2'000'000u);
  EXPECT_EQ(floor.reads_per_window, 2u);
  EXPECT_DOUBLE_EQ(floor.ms.p50, 10);
  EXPECT_DOUBLE_EQ(floor.ms.p99, 10 + 0.96 * 10);  // h = 3.96 between 10 and 20
  EXPECT_DOUBLE_EQ(floor.ms.max, 20);
  EXPECT_DOUBLE_EQ(floor.ms.p99_over_p50, 1.96);
  EXPECT_DOUBLE_EQ(floor.gbps_median, 0.2);  // 2 MB in 10 ms; the slow window read 0.1
  EXPECT_DOUBLE_EQ(to_json(floor)["mean_read_bytes"].get<double>(), 1'000'000);
  EXPECT_THROW(disk_floor({}), Error);
}

TEST(BenchDiskFloor, BadArgumentsThrow) {
  const Model model(kFile);
  const std::vector<AlignedRead> reads = fixture_token_reads(model);
  EXPECT_THROW(measure_disk_windows(kFile, reads, 8, 0), Error);
  EXPECT_THROW(measure_disk_windows("/nonexistent/model.gguf", reads, 8, 4), Error);
  EXPECT_THROW(measure_disk_windows(kFile, {}, 8, 4), Error);
}

TEST(BenchDiskFloor, PlannedBytesPerTokenFollowTheBudget) {
  const Model model(kFile);
  const RunSpec run = small_run();
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
  const uint64_t least = least_stream_plan(model, run).first;
  const uint64_t most = planned_read_bytes_per_token(model, run, least, kBaseline);
  EXPECT_GT(most, 0u);
  EXPECT_LT(most, model.file().file_size);
  EXPECT_EQ(most % 4096, 0u);  // whole O_DIRECT reads
  EXPECT_LT(planned_read_bytes_per_token(model, run, least + (512 << 10), kBaseline), most);
  EXPECT_EQ(planned_read_bytes_per_token(model, run, uint64_t{1} << 30, kBaseline), 0u);
  // A larger process leaves less for the weights.
  EXPECT_GT(planned_read_bytes_per_token(model, run, least + (512 << 10), kBaseline + (256 << 10)),
            planned_read_bytes_per_token(model, run, least + (512 << 10), kBaseline));
}
