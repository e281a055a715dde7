// Per-thread scheduler samples (names, run-queue delay, context switches), disk samples,
// and their attribution to decode tokens: known sample series give known per-token
// figures; the samplers read this process and a disk stat file written by hand.
#include <gtest/gtest.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "bench/disk_activity.h"
#include "bench/run_activity.h"
#include "bench/thread_sched.h"
#include "core/error.h"

using namespace flashslim;
using namespace flashslim::bench;
namespace fs = std::filesystem;

namespace {

fs::path temp_file(const std::string& name) {
  return fs::temp_directory_path() /
         ("flashslim-run-activity-test-" + std::to_string(::getpid()) + "-" + name);
}

constexpr uint64_t kMs = 1'000'000;  // ns

}  // namespace

TEST(BenchThreadSched, SamplesNameEveryThreadOfTheProcess) {
  std::atomic<bool> stop{false};
  std::thread io([&] {
    while (!stop.load()) std::this_thread::yield();
  });
  ::pthread_setname_np(io.native_handle(), "fs-prefetch");
  std::vector<ThreadSample> samples;
  ThreadSampler(::getpid()).sample(123, samples);
  stop = true;
  io.join();
  bool main_seen = false, io_seen = false;
  for (const ThreadSample& s : samples) {
    EXPECT_EQ(s.t_ns, 123u);
    if (s.tid == ::getpid()) {
      main_seen = true;
      EXPECT_EQ(s.kind, "main");
      EXPECT_GT(s.cpu_ns, 0u);
    }
    if (s.comm == "fs-prefetch") {
      io_seen = true;
      EXPECT_EQ(s.kind, "fs-prefetch");
    }
  }
  EXPECT_TRUE(main_seen);
  EXPECT_TRUE(io_seen);
  std::vector<ThreadSample> none;
  ThreadSampler(-1).sample(0, none);
  EXPECT_TRUE(none.empty());
}

TEST(BenchThreadSched, KindsFromNames) {
  EXPECT_EQ(thread_kind(10, 10, "flashslim"), "main");
  EXPECT_EQ(thread_kind(10, 11, "fs-compute"), "fs-compute");
  EXPECT_EQ(thread_kind(10, 12, "iou-wrk-10"), "iou-wrk");
  EXPECT_EQ(thread_kind(10, 13, "flashslim"), "other");
  EXPECT_TRUE(is_io_kind("iou-wrk"));
  EXPECT_TRUE(is_compute_kind("main"));
  EXPECT_FALSE(is_io_kind("other"));
  EXPECT_FALSE(is_compute_kind("other"));
}

TEST(BenchThreadSched, GrowthPerKindOverAWindowAndCsvRoundTrip) {
  // tid 1 (main) and tid 2 (fs-prefetch) sampled at 0, 10 and 20 ms; tid 3 (fs-compute)
  // only at 30 and 40 ms (outside a 0..20 ms window).
  const std::vector<ThreadSample> samples = {
      {0, 1, "main", "flashslim", 0, 0, 0, 0},
      {0, 2, "fs-prefetch", "fs-prefetch", 0, 0, 0, 0},
      {10 * kMs, 1, "main", "flashslim", 8 * kMs, 2 * kMs, 1, 2},
      {10 * kMs, 2, "fs-prefetch", "fs-prefetch", 1 * kMs, 6 * kMs, 10, 4},
      {20 * kMs, 1, "main", "flashslim", 18 * kMs, 2 * kMs, 1, 2},
      {20 * kMs, 2, "fs-prefetch", "fs-prefetch", 2 * kMs, 6 * kMs, 20, 4},
      {30 * kMs, 3, "fs-compute", "fs-compute", 0, 0, 0, 0},
      {40 * kMs, 3, "fs-compute", "fs-compute", 9 * kMs, 1 * kMs, 0, 3},
  };
  const fs::path csv = temp_file("threads.csv");
  write_thread_csv(csv, samples);
  const std::vector<ThreadSample> back = read_thread_csv(csv);
  ASSERT_EQ(back.size(), samples.size());
  EXPECT_EQ(back[3].comm, "fs-prefetch");
  EXPECT_EQ(back[3].runq_wait_ns, 6 * kMs);
  EXPECT_EQ(back[7].involuntary_switches, 3u);

  const ThreadSchedSeries series(back);
  // 5..15 ms: main's run-queue delay grows 1 ms (half of 0..10) + 0; fs-prefetch's 3 ms.
  const std::map<std::string, SchedGrowth> kinds = series.by_kind(5 * kMs, 15 * kMs);
  ASSERT_EQ(kinds.size(), 2u);
  EXPECT_DOUBLE_EQ(kinds.at("main").runq_wait_ms, 1.0);
  EXPECT_DOUBLE_EQ(kinds.at("main").cpu_ms, 9.0);  // 4 + 5
  EXPECT_DOUBLE_EQ(kinds.at("fs-prefetch").runq_wait_ms, 3.0);
  EXPECT_DOUBLE_EQ(kinds.at("fs-prefetch").involuntary_switches, 2.0);
  EXPECT_DOUBLE_EQ(kinds.at("fs-prefetch").voluntary_switches, 10.0);  // 5 + 5
  const SchedGrowth io = sum_kinds(series.by_kind(0, 40 * kMs), is_io_kind);
  EXPECT_EQ(io.threads, 1);
  EXPECT_DOUBLE_EQ(io.runq_wait_ms, 6.0);
  const SchedGrowth compute = sum_kinds(series.by_kind(0, 40 * kMs), is_compute_kind);
  EXPECT_EQ(compute.threads, 2);
  EXPECT_DOUBLE_EQ(compute.runq_wait_ms, 3.0);

  std::ofstream(csv) << "t_ns,tid,kind,comm,cpu_ns,runq_wait_ns,voluntary_switches,"
                        "involuntary_switches\n1,2,main,x,3,4,5\n";
  try {
    read_thread_csv(csv);
    FAIL() << "a line with 7 fields was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(csv.string() + ":2:"), std::string::npos) << e.what();
  }
  fs::remove(csv);
}

TEST(BenchDiskActivity, SamplesTheStatFileAndMeasuresWindows) {
  // Documentation/block/stat.rst fields; sectors read 2048 (1 MiB), io_ticks 500 ms.
  const fs::path stat = temp_file("stat");
  std::ofstream(stat) << "     100        0     2048      40        0        0        0        0"
                         "        0      500      600        0\n";
  const std::optional<DiskSample> s = sample_disk(stat, 7);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->t_ns, 7u);
  EXPECT_EQ(s->read_bytes, 1048576u);
  EXPECT_EQ(s->busy_ms, 500u);
  std::ofstream(stat) << "1 2 3\n";
  EXPECT_FALSE(sample_disk(stat, 0).has_value());
  EXPECT_FALSE(sample_disk(temp_file("absent"), 0).has_value());
  fs::remove(stat);
  EXPECT_THROW(disk_stat_file_of("/proc/self/status"), Error);

  const std::vector<DiskSample> samples = {{0, 1000, 100}, {10 * kMs, 3000, 110}};
  const fs::path csv = temp_file("disk.csv");
  write_disk_csv(csv, samples);
  const std::vector<DiskSample> back = read_disk_csv(csv);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].read_bytes, 3000u);
  const DiskGrowth g = disk_growth(back, 5 * kMs, 10 * kMs);
  EXPECT_DOUBLE_EQ(g.read_bytes, 1000);
  EXPECT_DOUBLE_EQ(g.busy_ms, 5);
  std::ofstream(csv) << "t_ns,read_bytes,busy_ms\n1,2\n";
  EXPECT_THROW(read_disk_csv(csv), Error);
  fs::remove(csv);
}

TEST(BenchRunActivity, DecodeTokensGetTheirWindowsShare) {
  // Origin at 1000 ms; a prefill batch, then two decode tokens: 0..10 ms and 10..30 ms
  // after the origin.
  const uint64_t origin = 1000 * kMs;
  std::vector<TokenLogEntry> log(3);
  log[0].phase = "prefill";
  log[0].latency_us = 5000;
  log[1].phase = "decode";
  log[1].t_start_us = 0;
  log[1].latency_us = 10'000;
  log[1].bytes_read = 4'000'000;
  log[2].phase = "decode";
  log[2].t_start_us = 10'000;
  log[2].latency_us = 20'000;
  log[2].bytes_read = 2'000'000;
  // The I/O thread waits 4 ms for a CPU in the first token and 0 in the second; the disk
  // is busy 10 of 10 ms reading 4 MB, then 5 of 20 ms reading 1 MB.
  const std::vector<ThreadSample> threads = {
      {origin, 2, "fs-prefetch", "fs-prefetch", 0, 0, 0, 0},
      {origin + 10 * kMs, 2, "fs-prefetch", "fs-prefetch", 1 * kMs, 4 * kMs, 0, 3},
      {origin + 30 * kMs, 2, "fs-prefetch", "fs-prefetch", 2 * kMs, 4 * kMs, 0, 3},
      {origin, 1, "main", "flashslim", 0, 0, 0, 0},
      {origin + 30 * kMs, 1, "main", "flashslim", 20 * kMs, 6 * kMs, 0, 6},
  };
  const std::vector<DiskSample> disk = {
      {origin, 0, 0}, {origin + 10 * kMs, 4'000'000, 10}, {origin + 30 * kMs, 5'000'000, 15}};
  const std::vector<TokenActivity> tokens =
      token_activity(log, origin, ThreadSchedSeries(threads), disk);
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_DOUBLE_EQ(tokens[0].io_runq_ms, 4);
  EXPECT_DOUBLE_EQ(tokens[0].io_involuntary, 3);
  EXPECT_DOUBLE_EQ(tokens[0].compute_runq_ms, 2);  // a third of main's 6 ms
  EXPECT_DOUBLE_EQ(tokens[0].disk_busy_ms, 10);
  EXPECT_DOUBLE_EQ(tokens[1].io_runq_ms, 0);
  EXPECT_DOUBLE_EQ(tokens[1].disk_read_bytes, 1'000'000);

  const nlohmann::json second = activity_means(std::span(tokens).subspan(1));
  EXPECT_DOUBLE_EQ(second["disk_busy_share"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(second["disk_read_mbps"].get<double>(), 200);  // 1 MB in 5 ms
  // The run read 2 MB by its own count, the disk 1 MB: a share above 1 means the run's
  // count includes reads the disk did not make (page-cache hits), so it is shown as is.
  EXPECT_DOUBLE_EQ(second["run_share_of_disk_reads"].get<double>(), 2);
  EXPECT_DOUBLE_EQ(
      activity_means(std::span(tokens).first(1))["run_share_of_disk_reads"].get<double>(),
      1);  // 4 MB of 4 MB
  const nlohmann::json both = activity_means(tokens);
  EXPECT_EQ(both["tokens"], 2);
  EXPECT_DOUBLE_EQ(both["io_runq_ms"].get<double>(), 2);
  EXPECT_DOUBLE_EQ(both["disk_busy_share"].get<double>(), 0.5);  // 15 of 30 ms
  EXPECT_TRUE(activity_means({}).is_null());

  const nlohmann::json decode =
      decode_activity_json(ThreadSchedSeries(threads), disk, origin, origin + 30 * kMs);
  EXPECT_DOUBLE_EQ(decode["by_kind"]["fs-prefetch"]["runq_wait_ms"].get<double>(), 4);
  EXPECT_DOUBLE_EQ(decode["by_kind"]["main"]["cpu_ms"].get<double>(), 20);
  EXPECT_DOUBLE_EQ(decode["disk"]["busy_share"].get<double>(), 0.5);
  EXPECT_TRUE(decode_activity_json(ThreadSchedSeries({}), {}, 0, 1)["disk"].is_null());
}
