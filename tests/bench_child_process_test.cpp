#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "bench/child_process.h"
#include "bench/pressure.h"
#include "core/error.h"

using namespace flashslim::bench;
namespace fs = std::filesystem;
using std::chrono::milliseconds;

namespace {

fs::path temp_path(const std::string& name) {
  return fs::temp_directory_path() / (name + "-" + std::to_string(::getpid()));
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST(BenchChildProcess, CapturesOutputAndExitCode) {
  ChildSpec spec;
  spec.argv = {"sh", "-c", "echo out; echo err >&2; exit 3"};
  spec.stdout_path = temp_path("child-out");
  spec.stderr_path = temp_path("child-err");
  const ChildResult result = run_child(spec);
  EXPECT_TRUE(result.exited);
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_EQ(result.describe(), "exit 3");
  EXPECT_EQ(slurp(spec.stdout_path), "out\n");
  EXPECT_EQ(slurp(spec.stderr_path), "err\n");
  EXPECT_GT(result.max_rss_bytes, 0u);
  EXPECT_GT(result.minor_faults, 0u);
  fs::remove(spec.stdout_path);
  fs::remove(spec.stderr_path);
}

TEST(BenchChildProcess, ExecFailureNamesTheCommand) {
  ChildSpec spec;
  spec.argv = {"/nonexistent/flashslim-prog", "--flag"};
  try {
    run_child(spec);
    FAIL() << "no error";
  } catch (const flashslim::Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot start '/nonexistent/flashslim-prog --flag': exec: No such file or directory");
  }
}

TEST(BenchChildProcess, TimeoutKillsTheProcessGroup) {
  ChildSpec spec;
  // The shell's background sleep is in the same process group and is killed with it.
  spec.argv = {"sh", "-c", "sleep 30 & sleep 30"};
  spec.timeout = milliseconds(300);
  const ChildResult result = run_child(spec);
  EXPECT_TRUE(result.timed_out);
  EXPECT_FALSE(result.exited);
  EXPECT_EQ(result.term_signal, SIGKILL);
  EXPECT_GE(result.wall_s, 0.29);
  // Killed, not finished: well before the 30 s sleeps end, however loaded the machine.
  EXPECT_LT(result.wall_s, 25.0);
  EXPECT_NE(result.describe().find("timed out"), std::string::npos);
}

TEST(BenchChildProcess, PinsToTheRequestedCpu) {
  cpu_set_t mine;
  ASSERT_EQ(sched_getaffinity(0, sizeof mine, &mine), 0);
  int cpu = 0;
  while (!CPU_ISSET(cpu, &mine)) ++cpu;
  ChildSpec spec;
  spec.argv = {"grep", "Cpus_allowed_list", "/proc/self/status"};
  spec.cpus = {cpu};
  spec.stdout_path = temp_path("child-affinity");
  ASSERT_TRUE(run_child(spec).succeeded());
  EXPECT_NE(slurp(spec.stdout_path).find(":\t" + std::to_string(cpu) + "\n"), std::string::npos)
      << slurp(spec.stdout_path);
  fs::remove(spec.stdout_path);
}

TEST(BenchChildProcess, SamplesRssAndCountsReads) {
  ChildSpec spec;
  // Reads 64 MiB with read(2) and holds ~16 MiB of shell variable for 0.3 s.
  spec.argv = {"sh", "-c",
               "head -c 67108864 /dev/zero > /dev/null; "
               "x=$(head -c 16777216 /dev/zero | tr '\\0' a); sleep 0.3; echo ${#x}"};
  spec.sample_period = milliseconds(5);
  spec.stdout_path = temp_path("child-rss");
  const ChildResult result = run_child(spec);
  ASSERT_TRUE(result.succeeded()) << result.describe();
  EXPECT_EQ(slurp(spec.stdout_path), "16777216\n");
  // ~60 samples on an idle machine; a loaded one delays the sampler's wake-ups, so only
  // ask for periodic sampling (more than the sample taken at the start).
  ASSERT_GE(result.rss.size(), 3u);
  uint64_t max_sampled = 0;
  for (size_t i = 1; i < result.rss.size(); ++i) {
    EXPECT_GT(result.rss[i].time_s, result.rss[i - 1].time_s);
    max_sampled = std::max(max_sampled, result.rss[i].rss_bytes);
  }
  EXPECT_GE(max_sampled, 16u << 20);
  EXPECT_GE(result.max_rss_bytes, 16u << 20);
  // rchar of the shell itself (the reader of $(...)): at least the 16 MiB it captured.
  EXPECT_GE(result.rchar, 16u << 20);
  ASSERT_TRUE(result.io_pressure_before.has_value());
  ASSERT_TRUE(result.io_pressure_after.has_value());
  EXPECT_GE(result.io_pressure_after->some.total_us, result.io_pressure_before->some.total_us);
  fs::remove(spec.stdout_path);
}

TEST(BenchChildProcess, SamplesThreadsAndDiskAtTheirOwnPeriod) {
  ChildSpec spec;
  spec.argv = {"sleep", "0.2"};
  spec.sample_period = milliseconds(5);
  spec.sample_threads = true;
  spec.activity_period = milliseconds(40);
  // A stand-in for a disk's sysfs stat file: 8 sectors read, 3 ms busy.
  spec.disk_stat_file = temp_path("child-disk-stat");
  std::ofstream(spec.disk_stat_file) << "1 0 8 0 0 0 0 0 0 3 0\n";
  const ChildResult result = run_child(spec);
  ASSERT_TRUE(result.succeeded()) << result.describe();
  ASSERT_FALSE(result.threads.empty());
  EXPECT_EQ(result.threads.front().kind, "main");
  ASSERT_FALSE(result.disk.empty());
  EXPECT_EQ(result.disk.front().read_bytes, 8u * 512);
  EXPECT_EQ(result.disk.front().t_ns, result.threads.front().t_ns);  // taken together
  // However late the sampler wakes, activity samples are never closer than their period.
  for (size_t i = 1; i < result.disk.size(); ++i)
    EXPECT_GE(result.disk[i].t_ns - result.disk[i - 1].t_ns, 40'000'000u);
  fs::remove(spec.disk_stat_file);
}

TEST(BenchChildProcess, PlacedInCgroupBeforeExecAndOomDetected) {
  std::optional<CgroupParent> parent;
  try {
    parent = find_memory_cgroup_parent();
  } catch (const flashslim::Error& e) {
    GTEST_SKIP() << e.what();
  }
  const std::string name = unique_cgroup_name("flashslim-test");
  MemoryCgroup group(*parent, name, 32ull << 20);
  ChildSpec spec;
  spec.cgroup = &group;
  spec.argv = {"cat", "/proc/self/cgroup"};
  spec.stdout_path = temp_path("child-cgroup");
  ASSERT_TRUE(run_child(spec).succeeded());
  EXPECT_NE(slurp(spec.stdout_path).find("/" + name + "\n"), std::string::npos)
      << slurp(spec.stdout_path);
  fs::remove(spec.stdout_path);

  // tail keeps the current line in memory, and /dev/zero has no newline.
  spec.argv = {"tail", "/dev/zero"};
  spec.stdout_path.clear();
  spec.timeout = milliseconds(20000);
  const ChildResult result = run_child(spec);
  EXPECT_TRUE(result.oom_killed) << result.describe();
  EXPECT_EQ(result.describe(), "killed by SIGKILL (out of memory)");
  ASSERT_TRUE(result.cgroup.has_value());
  ASSERT_TRUE(result.cgroup->peak_bytes.has_value());
  EXPECT_LE(*result.cgroup->peak_bytes, 32ull << 20);
}

TEST(BenchPressure, ParsesProcPressureText) {
  const Pressure p = parse_pressure(
      "some avg10=0.01 avg60=1.36 avg300=0.78 total=3360811\n"
      "full avg10=0.50 avg60=1.34 avg300=0.76 total=3198767\n");
  EXPECT_DOUBLE_EQ(p.some.avg10, 0.01);
  EXPECT_DOUBLE_EQ(p.some.avg60, 1.36);
  EXPECT_EQ(p.some.total_us, 3360811u);
  EXPECT_DOUBLE_EQ(p.full.avg10, 0.5);
  EXPECT_DOUBLE_EQ(p.full.avg300, 0.76);
  EXPECT_EQ(p.full.total_us, 3198767u);
  EXPECT_THROW(parse_pressure("some avg10=x avg60=1 avg300=1 total=1\n"), flashslim::Error);
}
