#pragma once
// The model's disk as the kernel sees it, sampled while a run goes on: bytes read and
// busy time (ms with at least one request in flight) from the disk's sysfs `stat`. Per
// token, bytes / busy time is the rate the disk delivered while it worked, and busy time /
// token time says whether reads were in flight at all: a slow disk shows a low rate with
// the disk busy; a runtime that did not issue reads shows an idle disk. The counters are
// the whole disk's (other processes' reads on it count too).
//
// disk.csv: header "t_ns,read_bytes,busy_ms", one sample per line; t_ns is
// CLOCK_MONOTONIC (steady_clock), the clock of the child's token log origin.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <vector>

namespace flashslim::bench {

struct DiskSample {
  uint64_t t_ns = 0;
  uint64_t read_bytes = 0;  // cumulative since boot
  uint64_t busy_ms = 0;     // cumulative io_ticks since boot
};

// The `stat` file of the disk holding `file`. Throws Error if it is not on a block device.
std::filesystem::path disk_stat_file_of(const std::filesystem::path& file);
// std::nullopt when the file cannot be read or parsed.
std::optional<DiskSample> sample_disk(const std::filesystem::path& stat_file, uint64_t t_ns);

void write_disk_csv(const std::filesystem::path& path, std::span<const DiskSample> samples);
// Throws Error naming the file and line on malformed lines.
std::vector<DiskSample> read_disk_csv(const std::filesystem::path& path);

struct DiskGrowth {
  double read_bytes = 0, busy_ms = 0;
};
// The counters' growth between from_ns and to_ns (counter_growth of each); zeros without
// samples.
DiskGrowth disk_growth(std::span<const DiskSample> samples, uint64_t from_ns, uint64_t to_ns);

}  // namespace flashslim::bench
