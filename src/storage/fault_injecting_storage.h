#pragma once
// A Storage that wraps another and breaks it on purpose, deterministically:
// EIO or short reads at chosen byte ranges, and added latency. Tests use it to
// prove that every failure ends in a clean error; `--inject-faults` exposes it.
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "storage/storage.h"

namespace flashslim::storage {

enum class FaultKind {
  Eio,        // the read fails with EIO
  ShortRead,  // the read delivers the bytes before `begin`, then fails as a short read
              // (ENODATA), as if the file ended at `begin`
  Delay,      // the read is delayed by delay_us, then served normally
};

struct FaultRule {
  FaultKind kind = FaultKind::Eio;
  // Byte range [begin, end) of the file; a read overlapping it triggers the rule.
  uint64_t begin = 0;
  uint64_t end = std::numeric_limits<uint64_t>::max();
  uint64_t delay_us = 0;  // Delay only, microseconds
  // How many triggering reads the rule affects before it heals (a transient fault).
  uint64_t times = std::numeric_limits<uint64_t>::max();
};

// Parses a comma-separated fault list, for the command line:
//   eio@BEGIN-END        EIO for reads overlapping bytes [BEGIN, END)
//   short@BEGIN-END      short read at BEGIN for reads overlapping [BEGIN, END)
//   delay=US             every read delayed by US microseconds
//   delay=US@BEGIN-END   reads overlapping [BEGIN, END) delayed
// Each may end in "*N": affect only the first N triggering reads.
// Example: "delay=200,eio@1048576-1052672*1". Throws Error naming the bad item.
std::vector<FaultRule> parse_fault_rules(std::string_view spec);

// Thread-safe like every Storage. Rules are checked in order for each read:
// all matching delays apply, then the first matching EIO or short read fails it.
// map() is nullptr, so zero-copy users cannot bypass the faults; async reads go
// through a thread pool calling read(), so they see the same faults.
class FaultInjectingStorage final : public Storage {
 public:
  FaultInjectingStorage(std::unique_ptr<Storage> inner, std::vector<FaultRule> rules,
                        unsigned pool_threads = 4);

  const std::string& path() const override { return inner_->path(); }
  uint64_t size() const override { return inner_->size(); }
  size_t alignment() const override { return inner_->alignment(); }
  void read(uint64_t offset, std::span<uint8_t> dst) const override;
  std::unique_ptr<ReadQueue> make_queue(unsigned depth) const override;
  std::string description() const override;

  // Reads that a rule failed or delayed so far.
  uint64_t faults_injected() const;
  const Storage& inner() const { return *inner_; }

 private:
  // Decides, under the lock, what happens to one read; consumes rule uses.
  struct Decision {
    uint64_t delay_us = 0;
    std::optional<FaultRule> failure;  // the EIO or short-read rule that fails the read
  };
  Decision decide(uint64_t offset, uint64_t length) const;
  void inject(const FaultRule& rule, uint64_t offset, std::span<uint8_t> dst) const;

  std::unique_ptr<Storage> inner_;
  unsigned pool_threads_;
  mutable std::mutex mutex_;
  mutable std::vector<FaultRule> rules_;  // guarded by mutex_; `times` counts down
  mutable uint64_t faults_injected_ = 0;  // guarded by mutex_
};

}  // namespace flashslim::storage
