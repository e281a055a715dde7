#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "bench/cgroup.h"
#include "core/error.h"

using namespace flashslim::bench;
namespace fs = std::filesystem;

namespace {

fs::path fresh_temp_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / (name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// Real groups need root (or a delegated cgroup) and a memory controller.
std::optional<CgroupParent> real_parent_or_skip_reason(std::string& reason) {
  try {
    return find_memory_cgroup_parent();
  } catch (const flashslim::Error& e) {
    reason = e.what();
    return std::nullopt;
  }
}

// Forks a child that blocks until the parent has placed it, then runs `body` and exits
// with its return value.
template <typename Body>
pid_t fork_placed_child(const MemoryCgroup& group, Body body) {
  int go[2];
  EXPECT_EQ(::pipe(go), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(go[1]);
    char byte;
    if (::read(go[0], &byte, 1) != 1) ::_exit(120);
    ::_exit(body());
  }
  ::close(go[0]);
  group.add_process(pid);
  EXPECT_EQ(::write(go[1], "g", 1), 1);
  ::close(go[1]);
  return pid;
}

}  // namespace

TEST(BenchCgroup, FindsV1MemoryLine) {
  const fs::path root = fresh_temp_dir("cgroup-v1-root");
  fs::create_directories(root / "memory" / "a" / "b");
  const CgroupParent parent =
      find_memory_cgroup_parent("5:cpu,cpuacct:/\n4:memory:/a/b\n0::/\n", root);
  EXPECT_EQ(parent.version, CgroupVersion::v1);
  EXPECT_EQ(parent.dir, root / "memory" / "a" / "b");
  fs::remove_all(root);
}

TEST(BenchCgroup, FindsV2WhenItHasTheMemoryController) {
  const fs::path root = fresh_temp_dir("cgroup-v2-root");
  fs::create_directories(root / "unified");
  std::ofstream(root / "unified" / "cgroup.controllers") << "cpu io memory pids\n";
  const CgroupParent parent = find_memory_cgroup_parent("0::/user/session\n", root);
  EXPECT_EQ(parent.version, CgroupVersion::v2);
  EXPECT_EQ(parent.dir, root / "unified" / "user" / "session");

  // This machine's situation: v2 mounted with hugetlb only, no v1 memory line.
  std::ofstream(root / "unified" / "cgroup.controllers") << "hugetlb\n";
  try {
    find_memory_cgroup_parent("1:cpu:/\n0::/\n", root);
    FAIL() << "no error";
  } catch (const flashslim::Error& e) {
    EXPECT_NE(std::string(e.what()).find("no cgroup memory controller"), std::string::npos);
  }
  fs::remove_all(root);
}

TEST(BenchCgroup, ChildSeesItselfInTheGroup) {
  std::string reason;
  const std::optional<CgroupParent> parent = real_parent_or_skip_reason(reason);
  if (!parent) GTEST_SKIP() << reason;
  const std::string name = unique_cgroup_name("flashslim-test");
  MemoryCgroup group(*parent, name, 256ull << 20);

  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  const pid_t pid = fork_placed_child(group, [&] {
    ::dup2(out[1], STDOUT_FILENO);
    ::execl("/bin/sh", "sh", "-c", "cat /proc/self/cgroup", static_cast<char*>(nullptr));
    return 127;
  });
  ::close(out[1]);
  std::string text;
  char buffer[1024];
  for (ssize_t n; (n = ::read(out[0], buffer, sizeof buffer)) > 0;) text.append(buffer, n);
  ::close(out[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << text;

  const std::string marker = parent->version == CgroupVersion::v1 ? ":memory:" : "0::";
  const size_t line = text.find(marker);
  ASSERT_NE(line, std::string::npos) << text;
  const std::string memory_line = text.substr(line, text.find('\n', line) - line);
  EXPECT_TRUE(memory_line.ends_with("/" + name)) << memory_line;
}

TEST(BenchCgroup, AllocationOverTheLimitIsOomKilled) {
  std::string reason;
  const std::optional<CgroupParent> parent = real_parent_or_skip_reason(reason);
  if (!parent) GTEST_SKIP() << reason;
  const uint64_t limit = 32ull << 20;
  MemoryCgroup group(*parent, unique_cgroup_name("flashslim-test"), limit);

  const pid_t pid = fork_placed_child(group, [] {
    const size_t bytes = 256ull << 20;
    volatile char* p = static_cast<char*>(std::malloc(bytes));
    for (size_t i = 0; i < bytes; i += 4096) p[i] = 1;  // make every page resident
    return p[bytes / 2] - 1;
  });
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited normally: the limit is not enforced";
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  const CgroupMemoryUsage usage = group.usage();
  EXPECT_GE(usage.oom_kills, 1u);
  EXPECT_GE(usage.limit_hits, 1u);
  ASSERT_TRUE(usage.peak_bytes.has_value());
  EXPECT_LE(*usage.peak_bytes, limit);
  EXPECT_GT(*usage.peak_bytes, limit / 2);
}

TEST(BenchCgroup, PeakCountsAnAllocationUnderTheLimit) {
  std::string reason;
  const std::optional<CgroupParent> parent = real_parent_or_skip_reason(reason);
  if (!parent) GTEST_SKIP() << reason;
  MemoryCgroup group(*parent, unique_cgroup_name("flashslim-test"), 128ull << 20);
  const size_t bytes = 48ull << 20;
  const pid_t pid = fork_placed_child(group, [bytes] {
    // volatile: the compiler must not elide an allocation whose contents are unused.
    volatile char* p = static_cast<char*>(std::malloc(bytes));
    for (size_t i = 0; i < bytes; i += 4096) p[i] = 1;
    return p[bytes / 2] - 1;
  });
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  const CgroupMemoryUsage usage = group.usage();
  EXPECT_EQ(usage.oom_kills, 0u);
  ASSERT_TRUE(usage.peak_bytes.has_value());
  EXPECT_GE(*usage.peak_bytes, bytes);
  EXPECT_LT(*usage.peak_bytes, bytes + (32ull << 20));
  EXPECT_FALSE(usage.stat.empty());
}

TEST(BenchCgroup, GroupIsRemovedAfterUse) {
  std::string reason;
  const std::optional<CgroupParent> parent = real_parent_or_skip_reason(reason);
  if (!parent) GTEST_SKIP() << reason;
  fs::path dir;
  {
    MemoryCgroup group(*parent, unique_cgroup_name("flashslim-test"), std::nullopt);
    dir = group.dir();
    EXPECT_TRUE(fs::is_directory(dir));
  }
  EXPECT_FALSE(fs::exists(dir));
}
