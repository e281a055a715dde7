#include "bench/system_control.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "bench/kernel_file.h"
#include "core/error.h"

namespace flashslim::bench {
namespace {

namespace fs = std::filesystem;

constexpr int kCapIpcLock = 14;  // bit number in the capability sets (linux/capability.h)

}  // namespace

fs::path block_device_dir_of(const fs::path& file, const char* purpose) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0)
    fail("cannot stat {}: {}", file.string(), std::strerror(errno));
  const std::string device = fmt::format("{}:{}", major(st.st_dev), minor(st.st_dev));
  const fs::path link = fs::path("/sys/dev/block") / device;
  std::error_code error;
  const fs::path sysfs_dir = fs::canonical(link, error);
  if (error)
    fail(
        "{} is on device {}, which is not a block device (tmpfs, overlay or network file "
        "system?): {}",
        file.string(), device, purpose);
  return fs::exists(sysfs_dir / "partition") ? sysfs_dir.parent_path() : sysfs_dir;
}

fs::path read_ahead_control_for(const fs::path& file) {
  const fs::path disk = block_device_dir_of(file, "read-ahead cannot be set for it");
  const fs::path control = disk / "queue" / "read_ahead_kb";
  if (!fs::exists(control))
    fail("{} is on block device {}, which has no queue/read_ahead_kb", file.string(),
         disk.string());
  return control;
}

ReadAheadSetting::ReadAheadSetting(const fs::path& file, uint64_t kib)
    : ReadAheadSetting(ReadAheadControl{read_ahead_control_for(file)}, kib) {}

ReadAheadSetting::ReadAheadSetting(const ReadAheadControl& control, uint64_t kib)
    : control_(control.path) {
  // control_ is /sys/.../DISK/queue/read_ahead_kb.
  const fs::path lock_path = fmt::format("/tmp/flashslim-read-ahead-{}.lock",
                                         control_.parent_path().parent_path().filename().string());
  lock_fd_ = ::open(lock_path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0666);
  if (lock_fd_ < 0) fail("cannot open {}: {}", lock_path.string(), std::strerror(errno));
  int locked;
  do locked = ::flock(lock_fd_, LOCK_EX);
  while (locked != 0 && errno == EINTR);
  try {
    if (locked != 0) fail("cannot lock {}: {}", lock_path.string(), std::strerror(errno));
    previous_kib_ = read_kernel_u64(control_);
    write_kernel_file(control_, std::to_string(kib));
  } catch (...) {
    ::close(lock_fd_);
    throw;
  }
}

ReadAheadSetting::~ReadAheadSetting() {
  try {
    write_kernel_file(control_, std::to_string(previous_kib_));
  } catch (const Error& e) {
    std::fprintf(stderr, "warning: read-ahead not restored: %s\n", e.what());
  }
  ::close(lock_fd_);  // releases the flock: the next setting reads the restored value
}

bool MlockAbility::can_lock(uint64_t bytes) const {
  return has_cap_ipc_lock || !limit_bytes || bytes <= *limit_bytes;
}

std::string MlockAbility::explain(uint64_t bytes) const {
  if (can_lock(bytes)) return "";
  return fmt::format(
      "mlock of {} bytes exceeds RLIMIT_MEMLOCK ({} bytes) and the process lacks CAP_IPC_LOCK: "
      "run as root, raise the limit (ulimit -l / limits.conf memlock), or grant CAP_IPC_LOCK",
      bytes, *limit_bytes);
}

MlockAbility check_mlock_ability() {
  MlockAbility ability;
  rlimit limit{};
  if (::getrlimit(RLIMIT_MEMLOCK, &limit) != 0)
    fail("getrlimit(RLIMIT_MEMLOCK): {}", std::strerror(errno));
  if (limit.rlim_cur != RLIM_INFINITY) ability.limit_bytes = limit.rlim_cur;
  // CapEff is a hex bit mask in /proc/self/status.
  const std::string status = read_kernel_file("/proc/self/status");
  const size_t at = status.find("CapEff:");
  if (at != std::string::npos) {
    unsigned long long mask = 0;
    if (std::sscanf(status.c_str() + at, "CapEff: %llx", &mask) == 1)
      ability.has_cap_ipc_lock = (mask >> kCapIpcLock) & 1;
  }
  return ability;
}

}  // namespace flashslim::bench
