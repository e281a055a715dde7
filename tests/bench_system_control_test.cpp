#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <regex>
#include <thread>

#include "bench/kernel_file.h"
#include "bench/provenance.h"
#include "bench/system_control.h"
#include "core/error.h"

using namespace flashslim::bench;
namespace fs = std::filesystem;

TEST(BenchSystemControl, FindsReadAheadOfTheDeviceHoldingAFile) {
  const fs::path control = read_ahead_control_for(FLASHSLIM_FIXTURES);
  EXPECT_EQ(control.filename(), "read_ahead_kb");
  EXPECT_EQ(control.parent_path().filename(), "queue");
  EXPECT_GT(read_kernel_u64(control), 0u);
  EXPECT_THROW(read_ahead_control_for("/proc/self/status"), flashslim::Error);
}

// The read-ahead control of a loop device with nothing attached: nobody reads through it,
// so changing it cannot disturb a benchmark (the fixtures' disk also holds the benchmark
// models, and its read-ahead changes what mmap runs read). nullopt when there is none or
// it is not writable (not root).
std::optional<ReadAheadControl> idle_loop_read_ahead() {
  std::error_code error;
  for (const fs::directory_entry& disk : fs::directory_iterator("/sys/block", error)) {
    const fs::path control = disk.path() / "queue" / "read_ahead_kb";
    if (disk.path().filename().string().starts_with("loop") &&
        !fs::exists(disk.path() / "loop" / "backing_file") && ::access(control.c_str(), W_OK) == 0)
      return ReadAheadControl{control};
  }
  return std::nullopt;
}

TEST(BenchSystemControl, ReadAheadIsSetAndRestored) {
  const std::optional<ReadAheadControl> control = idle_loop_read_ahead();
  if (!control) GTEST_SKIP() << "no idle loop device with a writable read_ahead_kb (root?)";
  const uint64_t before = read_kernel_u64(control->path);
  const uint64_t other = before == 256 ? 512 : 256;
  {
    ReadAheadSetting setting(*control, other);
    EXPECT_EQ(setting.previous_kib(), before);
    EXPECT_EQ(read_kernel_u64(control->path), other);
  }
  EXPECT_EQ(read_kernel_u64(control->path), before);
}

// A second setting of the same disk made while the first is held waits for it, so it
// reads and restores the original value, not the first one's.
TEST(BenchSystemControl, OverlappingReadAheadSettingsRestoreTheOriginal) {
  const std::optional<ReadAheadControl> control = idle_loop_read_ahead();
  if (!control) GTEST_SKIP() << "no idle loop device with a writable read_ahead_kb (root?)";
  const uint64_t before = read_kernel_u64(control->path);
  const uint64_t first = before == 256 ? 512 : 256, second = first + 256;
  uint64_t second_saw = 0;
  std::optional<ReadAheadSetting> held(std::in_place, *control, first);
  std::thread other([&] {
    ReadAheadSetting setting(*control, second);
    second_saw = setting.previous_kib();
  });
  // Whether or not the thread reached the lock by now, it may only see `before`.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  held.reset();
  other.join();
  EXPECT_EQ(second_saw, before);
  EXPECT_EQ(read_kernel_u64(control->path), before);
}

TEST(BenchSystemControl, MlockAbilityExplainsTheLimit) {
  const MlockAbility capped{false, 8ull << 20};
  EXPECT_TRUE(capped.can_lock(8ull << 20));
  EXPECT_FALSE(capped.can_lock((8ull << 20) + 1));
  EXPECT_EQ(capped.explain(1024), "");
  EXPECT_NE(capped.explain(1ull << 30).find("RLIMIT_MEMLOCK (8388608 bytes)"), std::string::npos);
  const MlockAbility privileged{true, 8ull << 20};
  EXPECT_TRUE(privileged.can_lock(1ull << 40));

  const MlockAbility mine = check_mlock_ability();
  if (::geteuid() == 0) {
    EXPECT_TRUE(mine.has_cap_ipc_lock);
  }
  EXPECT_EQ(mine.can_lock(1ull << 40), mine.has_cap_ipc_lock || !mine.limit_bytes);
}

TEST(BenchProvenance, DescribesBuildMachineAndDate) {
  const Provenance p = collect_provenance();
  EXPECT_FALSE(p.git_commit.empty());
  EXPECT_FALSE(p.build_flags.empty());
  EXPECT_FALSE(p.cpu_model.empty());
  EXPECT_FALSE(p.cpu_flags.empty());
  EXPECT_GE(p.online_cpus, 1);
  EXPECT_TRUE(p.kernel.starts_with("Linux ")) << p.kernel;
  EXPECT_TRUE(std::regex_match(p.date, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"))) << p.date;
  const nlohmann::json json = to_json(p);
  EXPECT_EQ(json.at("cpu_model"), p.cpu_model);
  EXPECT_EQ(json.at("date"), p.date);
}
