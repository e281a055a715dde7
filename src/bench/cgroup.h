#pragma once
// Memory cgroups for benchmark child processes: the budget of a run is enforced by the
// kernel (memory.limit_in_bytes on cgroup v1, memory.max on v2), and the group's peak
// usage, limit hits and OOM kills are read back afterwards. Page cache charged by the
// child (buffered reads, mmap faults of the model file) counts against the limit.
//
// A group is created as a child of the cgroup the current process is in (from the
// `memory` line of /proc/self/cgroup on v1, the `0::` line on v2), so it works inside a
// delegated sub-tree without touching the rest of the hierarchy.
// Not thread-safe: one MemoryCgroup is used by one thread.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace flashslim::bench {

enum class CgroupVersion { v1, v2 };
std::string_view to_string(CgroupVersion version);

// Where new memory cgroups can be created: the caller's own memory cgroup directory.
struct CgroupParent {
  CgroupVersion version;
  std::filesystem::path dir;
};

// Looks up the caller's memory cgroup. `proc_self_cgroup` is the text of
// /proc/self/cgroup, `mount_root` usually /sys/fs/cgroup (v1 controllers mounted at
// ROOT/<controllers>, v2 at ROOT/unified or ROOT itself). v1 is preferred when both
// have a memory controller. Throws Error saying what is missing and what to do.
CgroupParent find_memory_cgroup_parent(std::string_view proc_self_cgroup,
                                       const std::filesystem::path& mount_root);
// The same for the running process and the real /sys/fs/cgroup.
CgroupParent find_memory_cgroup_parent();

struct CgroupMemoryUsage {
  uint64_t current_bytes = 0;
  // Highest usage since creation: v1 memory.max_usage_in_bytes, v2 memory.peak
  // (absent before Linux 5.19, then std::nullopt).
  std::optional<uint64_t> peak_bytes;
  // Times usage hit the limit: v1 memory.failcnt, v2 the `max` count of memory.events.
  uint64_t limit_hits = 0;
  // Processes the kernel OOM-killed in this group: `oom_kill` of v1 memory.oom_control
  // or v2 memory.events.
  uint64_t oom_kills = 0;
  // memory.stat as key → value (bytes or event counts, as the kernel documents).
  std::map<std::string, uint64_t> stat;
};

class MemoryCgroup {
 public:
  // Creates PARENT/name. With a limit the group's memory (and, when the system has swap,
  // memory+swap / swap, so swap cannot stretch the budget) is capped at
  // limit_bytes; without one the group only accounts. Throws Error on failure, e.g.
  // "cannot create cgroup DIR: Permission denied (run as root or delegate ...)".
  MemoryCgroup(const CgroupParent& parent, const std::string& name,
               std::optional<uint64_t> limit_bytes);
  // Removes the group; errors are printed to stderr (a destructor cannot throw).
  ~MemoryCgroup();
  MemoryCgroup(const MemoryCgroup&) = delete;
  MemoryCgroup& operator=(const MemoryCgroup&) = delete;

  // Moves a process (all its threads) into the group.
  void add_process(pid_t pid) const;
  // The file a process writes its own pid into to join the group (for placement
  // between fork and exec without calling back into this object).
  std::filesystem::path procs_file() const { return dir_ / "cgroup.procs"; }

  CgroupMemoryUsage usage() const;

  CgroupVersion version() const { return version_; }
  const std::filesystem::path& dir() const { return dir_; }
  std::optional<uint64_t> limit_bytes() const { return limit_bytes_; }

 private:
  void apply_limit(uint64_t limit_bytes) const;
  void remove() const;

  CgroupVersion version_;
  std::filesystem::path dir_;
  std::optional<uint64_t> limit_bytes_;
};

// "prefix-<pid>-<n>": unique among groups this process creates, and across processes.
std::string unique_cgroup_name(std::string_view prefix);

}  // namespace flashslim::bench
