#include "bench/cgroup.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "bench/kernel_file.h"
#include "core/error.h"

namespace flashslim::bench {
namespace {

namespace fs = std::filesystem;

std::string_view next_line(std::string_view& text) {
  const size_t end = text.find('\n');
  const std::string_view line = text.substr(0, end);
  text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
  return line;
}

bool contains_word(std::string_view list, std::string_view word, char separator) {
  while (!list.empty()) {
    const size_t end = list.find(separator);
    std::string_view item = list.substr(0, end);
    while (!item.empty() && (item.back() == '\n' || item.back() == ' ')) item.remove_suffix(1);
    if (item == word) return true;
    if (end == std::string_view::npos) break;
    list = list.substr(end + 1);
  }
  return false;
}

fs::path join_cgroup_path(const fs::path& mount, std::string_view cgroup_path) {
  while (!cgroup_path.empty() && cgroup_path.front() == '/') cgroup_path.remove_prefix(1);
  return cgroup_path.empty() ? mount : mount / std::string(cgroup_path);
}

[[noreturn]] void fail_create(const fs::path& dir, int error) {
  if (error == EACCES || error == EPERM || error == EROFS)
    fail(
        "cannot create cgroup {}: {} (run as root, or delegate this cgroup to your user, e.g. "
        "systemd-run --user --scope -p Delegate=yes ...)",
        dir.string(), std::strerror(error));
  fail("cannot create cgroup {}: {}", dir.string(), std::strerror(error));
}

// cgroup v2 gives a child the memory controller only if its parent lists it in
// cgroup.subtree_control; enabling it fails (EBUSY) while the parent has processes of
// its own, unless the parent is the root.
void enable_v2_memory_for_children(const fs::path& parent) {
  const fs::path control = parent / "cgroup.subtree_control";
  if (contains_word(read_kernel_file(control), "memory", ' ')) return;
  try {
    write_kernel_file(control, "+memory");
  } catch (const Error& e) {
    fail(
        "cannot enable the memory controller for children of {} ({}); cgroup v2 allows that only "
        "when {} holds no processes itself: run flashslim in a delegated cgroup whose processes "
        "live in a leaf group",
        parent.string(), e.what(), parent.string());
  }
}

std::map<std::string, uint64_t> parse_stat(std::string_view text) {
  std::map<std::string, uint64_t> stat;
  while (!text.empty()) {
    const std::string_view line = next_line(text);
    const size_t space = line.find(' ');
    if (space == std::string_view::npos) continue;
    const std::string key(line.substr(0, space));
    if (const std::optional<uint64_t> value = find_keyed_u64(line, key)) stat[key] = *value;
  }
  return stat;
}

bool system_has_swap() {
  const std::optional<std::string> meminfo = try_read_kernel_file("/proc/meminfo");
  return meminfo && find_meminfo_bytes(*meminfo, "SwapTotal").value_or(0) > 0;
}

}  // namespace

std::string_view to_string(CgroupVersion version) {
  return version == CgroupVersion::v1 ? "v1" : "v2";
}

CgroupParent find_memory_cgroup_parent(std::string_view proc_self_cgroup,
                                       const fs::path& mount_root) {
  std::optional<std::string> v2_path;
  std::string_view text = proc_self_cgroup;
  while (!text.empty()) {
    // Lines are "hierarchy-id:controller-list:path"; v2 is "0::path".
    const std::string_view line = next_line(text);
    const size_t first = line.find(':');
    const size_t second = first == std::string_view::npos ? first : line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    const std::string_view controllers = line.substr(first + 1, second - first - 1);
    const std::string_view path = line.substr(second + 1);
    if (controllers.empty()) {
      v2_path = std::string(path);
    } else if (contains_word(controllers, "memory", ',')) {
      const fs::path dir = join_cgroup_path(mount_root / std::string(controllers), path);
      if (!fs::is_directory(dir))
        fail(
            "/proc/self/cgroup names the v1 memory cgroup {}, but {} does not exist (is the "
            "memory controller mounted under {}?)",
            path, dir.string(), mount_root.string());
      return {CgroupVersion::v1, dir};
    }
  }
  if (v2_path) {
    for (const fs::path& mount : {mount_root / "unified", mount_root}) {
      const std::optional<std::string> controllers =
          try_read_kernel_file(mount / "cgroup.controllers");
      if (controllers && contains_word(*controllers, "memory", ' '))
        return {CgroupVersion::v2, join_cgroup_path(mount, *v2_path)};
    }
  }
  fail(
      "no cgroup memory controller: /proc/self/cgroup has no v1 'memory' line and no cgroup v2 "
      "mount under {} lists 'memory' in cgroup.controllers; enable the memory controller or run "
      "without a memory budget",
      mount_root.string());
}

CgroupParent find_memory_cgroup_parent() {
  return find_memory_cgroup_parent(read_kernel_file("/proc/self/cgroup"), "/sys/fs/cgroup");
}

MemoryCgroup::MemoryCgroup(const CgroupParent& parent, const std::string& name,
                           std::optional<uint64_t> limit_bytes)
    : version_(parent.version), dir_(parent.dir / name), limit_bytes_(limit_bytes) {
  if (version_ == CgroupVersion::v2) enable_v2_memory_for_children(parent.dir);
  if (::mkdir(dir_.c_str(), 0755) != 0) fail_create(dir_, errno);
  if (!limit_bytes_) return;
  try {
    apply_limit(*limit_bytes_);
  } catch (...) {
    ::rmdir(dir_.c_str());
    throw;
  }
}

MemoryCgroup::~MemoryCgroup() {
  try {
    remove();
  } catch (const Error& e) {
    std::fprintf(stderr, "warning: %s\n", e.what());
  }
}

void MemoryCgroup::apply_limit(uint64_t limit_bytes) const {
  const std::string value = std::to_string(limit_bytes);
  if (version_ == CgroupVersion::v1) {
    // With swap, memsw (memory + swap) is capped too so swap cannot stretch the budget;
    // it must stay >= the memory limit, so it is written second. Without swap it is left
    // alone: a memsw limit that trips first leaves memory.failcnt at 0 (Linux 6.18).
    write_kernel_file(dir_ / "memory.limit_in_bytes", value);
    if (system_has_swap() && fs::exists(dir_ / "memory.memsw.limit_in_bytes"))
      write_kernel_file(dir_ / "memory.memsw.limit_in_bytes", value);
  } else {
    write_kernel_file(dir_ / "memory.max", value);
    if (system_has_swap() && fs::exists(dir_ / "memory.swap.max"))
      write_kernel_file(dir_ / "memory.swap.max", "0");
  }
}

void MemoryCgroup::add_process(pid_t pid) const {
  write_kernel_file(procs_file(), std::to_string(pid));
}

CgroupMemoryUsage MemoryCgroup::usage() const {
  CgroupMemoryUsage usage;
  usage.stat = parse_stat(read_kernel_file(dir_ / "memory.stat"));
  if (version_ == CgroupVersion::v1) {
    usage.current_bytes = read_kernel_u64(dir_ / "memory.usage_in_bytes");
    usage.peak_bytes = read_kernel_u64(dir_ / "memory.max_usage_in_bytes");
    usage.limit_hits = read_kernel_u64(dir_ / "memory.failcnt");
    usage.oom_kills =
        find_keyed_u64(read_kernel_file(dir_ / "memory.oom_control"), "oom_kill").value_or(0);
  } else {
    usage.current_bytes = read_kernel_u64(dir_ / "memory.current");
    if (fs::exists(dir_ / "memory.peak")) usage.peak_bytes = read_kernel_u64(dir_ / "memory.peak");
    const std::string events = read_kernel_file(dir_ / "memory.events");
    usage.limit_hits = find_keyed_u64(events, "max").value_or(0);
    usage.oom_kills = find_keyed_u64(events, "oom_kill").value_or(0);
  }
  return usage;
}

void MemoryCgroup::remove() const {
  // Processes leave the group when they exit, but that can lag a kill by a moment.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (::rmdir(dir_.c_str()) != 0) {
    const int error = errno;
    if (error == ENOENT) return;
    if (error != EBUSY || std::chrono::steady_clock::now() > deadline)
      fail("cannot remove cgroup {}: {}", dir_.string(), std::strerror(error));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string unique_cgroup_name(std::string_view prefix) {
  static std::atomic<unsigned> counter{0};
  return std::string(prefix) + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(counter.fetch_add(1));
}

}  // namespace flashslim::bench
