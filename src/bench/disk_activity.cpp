#include "bench/disk_activity.h"

#include <fstream>
#include <sstream>

#include "bench/csv_rows.h"
#include "bench/kernel_file.h"
#include "bench/stats.h"
#include "bench/system_control.h"
#include "core/error.h"

namespace flashslim::bench {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kCsvHeader = "t_ns,read_bytes,busy_ms";
constexpr uint64_t kSectorBytes = 512;  // sysfs stat counts 512-byte sectors on every disk

}  // namespace

fs::path disk_stat_file_of(const fs::path& file) {
  return block_device_dir_of(file, "its disk activity cannot be sampled") / "stat";
}

std::optional<DiskSample> sample_disk(const fs::path& stat_file, uint64_t t_ns) {
  const std::optional<std::string> text = try_read_kernel_file(stat_file);
  if (!text) return std::nullopt;
  // Documentation/block/stat.rst: reads, reads merged, sectors read, read ms, writes,
  // writes merged, sectors written, write ms, in flight, io_ticks (busy ms), ...
  std::istringstream fields(*text);
  uint64_t v[10];
  for (uint64_t& value : v)
    if (!(fields >> value)) return std::nullopt;
  return DiskSample{t_ns, v[2] * kSectorBytes, v[9]};
}

void write_disk_csv(const fs::path& path, std::span<const DiskSample> samples) {
  std::ofstream out(path);
  out << kCsvHeader << '\n';
  for (const DiskSample& s : samples)
    out << s.t_ns << ',' << s.read_bytes << ',' << s.busy_ms << '\n';
  if (!out) fail("cannot write {}", path.string());
}

std::vector<DiskSample> read_disk_csv(const fs::path& path) {
  std::vector<DiskSample> samples;
  for_each_csv_row(path, kCsvHeader, [&](const std::vector<std::string_view>& f, size_t line) {
    samples.push_back({csv_u64(f[0], path, line, "t_ns"), csv_u64(f[1], path, line, "read_bytes"),
                       csv_u64(f[2], path, line, "busy_ms")});
  });
  return samples;
}

DiskGrowth disk_growth(std::span<const DiskSample> samples, uint64_t from_ns, uint64_t to_ns) {
  std::vector<uint64_t> t;
  std::vector<double> bytes, busy;
  for (const DiskSample& s : samples) {
    t.push_back(s.t_ns);
    bytes.push_back(static_cast<double>(s.read_bytes));
    busy.push_back(static_cast<double>(s.busy_ms));
  }
  return {counter_growth(t, bytes, from_ns, to_ns), counter_growth(t, busy, from_ns, to_ns)};
}

}  // namespace flashslim::bench
