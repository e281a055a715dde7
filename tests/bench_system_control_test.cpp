#include <gtest/gtest.h>
#include <unistd.h>

#include <regex>

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

TEST(BenchSystemControl, ReadAheadIsSetAndRestored) {
  const fs::path control = read_ahead_control_for(FLASHSLIM_FIXTURES);
  if (::access(control.c_str(), W_OK) != 0) GTEST_SKIP() << control << " is not writable (root?)";
  const uint64_t before = read_kernel_u64(control);
  // Briefly a different value: the device is shared, so keep the change short.
  const uint64_t other = before == 256 ? 512 : 256;
  {
    ReadAheadSetting setting(FLASHSLIM_FIXTURES, other);
    EXPECT_EQ(setting.previous_kib(), before);
    EXPECT_EQ(read_kernel_u64(control), other);
  }
  EXPECT_EQ(read_kernel_u64(control), before);
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
