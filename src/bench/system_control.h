#pragma once
// Machine settings an experiment controls or must check: block-device read-ahead for
// the device holding the model file, and whether mlock of a given size can succeed.
// (Dropping the page cache is storage::drop_page_cache in storage/page_cache.h.)
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace flashslim::bench {

// The sysfs directory of the disk that holds `file`: st_dev → /sys/dev/block/MAJ:MIN,
// and for a partition its parent disk. Throws Error if the file is not on a block device
// (tmpfs, overlay, network file systems), ending with `purpose` (what cannot be done).
std::filesystem::path block_device_dir_of(const std::filesystem::path& file, const char* purpose);
// That disk's queue/read_ahead_kb file. Throws Error like block_device_dir_of, or when the
// disk has no such file.
std::filesystem::path read_ahead_control_for(const std::filesystem::path& file);

// A disk's queue/read_ahead_kb file, named directly.
struct ReadAheadControl {
  std::filesystem::path path;
};

// Sets the device read-ahead for the lifetime of the object and restores the previous
// value after. It applies to the whole device, i.e. to every process using it. Settings of
// one device take turns: each holds an exclusive flock on
// /tmp/flashslim-read-ahead-DISK.lock from before it reads the previous value until it has
// restored it, so two at once (two benchmarks, a test beside a benchmark) cannot restore
// each other's value and leave the device changed; the second waits for the first.
// Throws Error when the control cannot be read or written (left unchanged).
class ReadAheadSetting {
 public:
  // For the disk that holds `file` (read_ahead_control_for).
  ReadAheadSetting(const std::filesystem::path& file, uint64_t kib);
  ReadAheadSetting(const ReadAheadControl& control, uint64_t kib);
  ~ReadAheadSetting();
  ReadAheadSetting(const ReadAheadSetting&) = delete;
  ReadAheadSetting& operator=(const ReadAheadSetting&) = delete;

  uint64_t previous_kib() const { return previous_kib_; }
  const std::filesystem::path& control() const { return control_; }

 private:
  std::filesystem::path control_;
  int lock_fd_ = -1;
  uint64_t previous_kib_ = 0;
};

struct MlockAbility {
  bool has_cap_ipc_lock = false;        // CAP_IPC_LOCK in the effective set: no limit
  std::optional<uint64_t> limit_bytes;  // RLIMIT_MEMLOCK soft limit; nullopt = unlimited

  bool can_lock(uint64_t bytes) const;
  // "" when can_lock(bytes); otherwise why not and what to do.
  std::string explain(uint64_t bytes) const;
};
MlockAbility check_mlock_ability();

}  // namespace flashslim::bench
