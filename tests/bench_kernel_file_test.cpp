#include <gtest/gtest.h>

#include "bench/kernel_file.h"

namespace flashslim::bench {
namespace {

// Lines as /proc/meminfo has them (Linux 6.x).
constexpr std::string_view kMeminfo =
    "MemTotal:       24576000 kB\n"
    "MemAvailable:   20000000 kB\n"
    "SwapTotal:             0 kB\n"
    "HugePages_Total:      20\n";

TEST(BenchKernelFile, MeminfoValuesInKibAreBytes) {
  EXPECT_EQ(find_meminfo_bytes(kMeminfo, "MemAvailable"), 20000000ull * 1024);
  EXPECT_EQ(find_meminfo_bytes(kMeminfo, "MemTotal"), 24576000ull * 1024);
  EXPECT_EQ(find_meminfo_bytes(kMeminfo, "SwapTotal"), 0u);
}

TEST(BenchKernelFile, MeminfoValuesWithoutAUnitStandAsTheyAre) {
  EXPECT_EQ(find_meminfo_bytes(kMeminfo, "HugePages_Total"), 20u);
}

TEST(BenchKernelFile, MeminfoKeyMustMatchWhole) {
  EXPECT_EQ(find_meminfo_bytes(kMeminfo, "Mem"), std::nullopt);
  EXPECT_EQ(find_meminfo_bytes(kMeminfo, "SwapFree"), std::nullopt);
  EXPECT_EQ(find_meminfo_bytes("MemAvailable:   lots kB\n", "MemAvailable"), std::nullopt);
}

// find_keyed_u64 takes plain numbers only: a meminfo value with its unit is not one.
TEST(BenchKernelFile, KeyedNumbersInBothLineForms) {
  EXPECT_EQ(find_keyed_u64("rchar: 12\nread_bytes: 4096\n", "read_bytes"), 4096u);
  EXPECT_EQ(find_keyed_u64("cache 10\nrss 20\n", "rss"), 20u);
  EXPECT_EQ(find_keyed_u64(kMeminfo, "MemAvailable"), std::nullopt);
}

TEST(BenchKernelFile, ThisMachinesMeminfoHasMemAvailable) {
  const std::optional<uint64_t> available =
      find_meminfo_bytes(read_kernel_file("/proc/meminfo"), "MemAvailable");
  ASSERT_TRUE(available.has_value());
  EXPECT_GT(*available, 0u);
  EXPECT_EQ(*available % 1024, 0u);
}

}  // namespace
}  // namespace flashslim::bench
