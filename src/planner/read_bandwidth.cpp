#include "planner/read_bandwidth.h"

#include <algorithm>
#include <deque>
#include <filesystem>
#include <span>

#include "bench/kernel_file.h"
#include "bench/system_control.h"
#include "core/error.h"
#include "runtime/auto_planner.h"
#include "storage/aligned_buffer.h"
#include "storage/page_cache.h"
#include "storage/storage.h"

namespace flashslim::planner {

namespace {

// Block device name and read_ahead_kb of the device holding `path`, if it is
// on one (not tmpfs or overlay).
void describe_device(const std::string& path, StorageProfile& out) {
  try {
    const std::filesystem::path control = bench::read_ahead_control_for(path);
    out.read_ahead_kb = static_cast<int64_t>(bench::read_kernel_u64(control));
    // .../block/vda/queue/read_ahead_kb → "vda"
    out.device =
        std::filesystem::canonical(control).parent_path().parent_path().filename().string();
  } catch (const Error&) {
    out.device = "";
    out.read_ahead_kb = -1;
  }
}

// The loop of time_read_windows and time_listed_windows: `windows` windows of
// `reads_per_window` reads, `next_read` giving them in the order they are
// issued, each at most `part_bytes` long (the ring's parts).
std::vector<TimedWindow> time_windows(const storage::Storage& file, uint32_t depth,
                                      uint64_t part_bytes, uint64_t reads_per_window,
                                      uint64_t windows, const std::function<FileRead()>& next_read,
                                      const std::function<void()>& at_window_start) {
  auto queue = file.make_queue(depth);
  const uint64_t n_parts = std::max<uint64_t>(depth, kReadRingBytes / part_bytes);
  storage::AlignedBuffer memory = storage::AlignedBuffer::huge_paged(part_bytes * n_parts);
  std::deque<uint32_t> free_parts;
  for (uint32_t i = 0; i < n_parts; ++i) free_parts.push_back(i);
  std::vector<uint64_t> part_read_bytes(n_parts, 0);  // of the read in flight into each part

  const uint64_t total_reads = reads_per_window * windows;
  std::vector<TimedWindow> out(windows);
  std::vector<uint64_t> reads_left(windows, reads_per_window);
  uint64_t issued = 0, closed = 0;
  uint64_t window_start = storage::now_ns();
  if (at_window_start) at_window_start();
  while (closed < windows) {
    while (issued < total_reads && queue->in_flight() < depth) {
      const FileRead read = next_read();
      const uint32_t part = free_parts.front();
      free_parts.pop_front();
      part_read_bytes[part] = read.bytes;
      // The tag: the read's window in the high half, its part in the low half.
      queue->submit({read.offset, memory.span().subspan(part * part_bytes, read.bytes),
                     ((issued / reads_per_window) << 32) | part});
      ++issued;
    }
    const storage::ReadCompletion c = queue->wait_one();
    if (!c.ok()) fail("timed reads of {}: {}", file.path(), c.error);
    const uint32_t part = static_cast<uint32_t>(c.tag & 0xffffffffu);
    TimedWindow& window = out[c.tag >> 32];
    ++window.reads;
    window.bytes += part_read_bytes[part];
    --reads_left[c.tag >> 32];
    free_parts.push_back(part);
    while (closed < windows && reads_left[closed] == 0) {
      const uint64_t now = storage::now_ns();
      out[closed++].ns = now - window_start;
      window_start = now;
      if (at_window_start && closed < windows) at_window_start();
    }
  }
  return out;
}

}  // namespace

std::vector<uint64_t> time_read_windows(const storage::Storage& file, const ReadWindows& shape,
                                        uint64_t& start) {
  if (shape.read_bytes == 0 || shape.depth == 0 || shape.reads_per_window == 0 ||
      shape.windows == 0)
    fail(
        "timed reads: read size {}, depth {}, {} reads per window, {} windows: each must be "
        "positive",
        shape.read_bytes, shape.depth, shape.reads_per_window, shape.windows);
  if (shape.end - shape.begin < shape.read_bytes)
    fail("timed reads: range [{}, {}) of {} is shorter than one read of {} bytes", shape.begin,
         shape.end, file.path(), shape.read_bytes);
  uint64_t offset = start;
  const auto next_read = [&] {
    if (offset + shape.read_bytes > shape.end) offset = shape.begin;
    const FileRead read{offset, shape.read_bytes};
    offset += shape.read_bytes;
    return read;
  };
  const std::vector<TimedWindow> windows = time_windows(
      file, shape.depth, shape.read_bytes, shape.reads_per_window, shape.windows, next_read, {});
  start = offset;
  std::vector<uint64_t> window_ns;
  window_ns.reserve(windows.size());
  for (const TimedWindow& w : windows) window_ns.push_back(w.ns);
  return window_ns;
}

std::vector<TimedWindow> time_listed_windows(const storage::Storage& file,
                                             std::span<const FileRead> window_reads, uint32_t depth,
                                             uint64_t windows,
                                             const std::function<void()>& at_window_start) {
  if (window_reads.empty() || depth == 0 || windows == 0)
    fail("timed reads of {}: {} reads per window, depth {}, {} windows: each must be positive",
         file.path(), window_reads.size(), depth, windows);
  uint64_t longest = 0;
  for (const FileRead& read : window_reads) {
    if (read.bytes == 0)
      fail("timed reads of {}: a read of 0 bytes at offset {}", file.path(), read.offset);
    longest = std::max(longest, read.bytes);
  }
  size_t next = 0;
  const auto next_read = [&] {
    const FileRead read = window_reads[next];
    next = (next + 1) % window_reads.size();
    return read;
  };
  return time_windows(file, depth, longest, window_reads.size(), windows, next_read,
                      at_window_start);
}

double time_read_rate(const storage::Storage& file, const ReadWindows& shape, uint64_t& start) {
  uint64_t ns = 0;
  for (uint64_t window_ns : time_read_windows(file, shape, start)) ns += window_ns;
  return static_cast<double>(shape.reads_per_window * shape.windows * shape.read_bytes) /
         static_cast<double>(ns);
}

ReadWindows data_section_reads(const storage::Storage& file, uint64_t data_offset) {
  ReadWindows reads;
  reads.begin = storage::align_down(data_offset, file.alignment());
  reads.end = storage::align_down(file.size(), file.alignment());
  return reads;
}

StorageProfile measure_read_bandwidth(const std::string& path, uint64_t data_offset,
                                      const ReadBandwidthOptions& options) {
  StorageProfile out;
  describe_device(path, out);
  const auto file = storage::open_storage(path, storage::StorageKind::UringDirect);
  out.backend = file->description();
  const uint64_t align = file->alignment();
  ReadWindows reads = data_section_reads(*file, data_offset);
  uint64_t start = reads.begin;
  out.evicted_before = options.evict_first;
  for (uint64_t read_bytes : options.read_bytes) {
    if (read_bytes % align || read_bytes == 0)
      fail("read bandwidth: read size {} is not a positive multiple of {}", read_bytes, align);
    if (reads.end - reads.begin < read_bytes) continue;  // the file is smaller than one read
    for (uint32_t depth : options.queue_depths) {
      if (options.evict_first) storage::evict_file_from_page_cache(path);
      const uint64_t total = std::max<uint64_t>(options.bytes_per_point, 4ull * read_bytes * depth);
      reads.read_bytes = read_bytes;
      reads.depth = depth;
      reads.reads_per_window = (total + read_bytes - 1) / read_bytes;
      reads.windows = 1;
      out.curve.push_back({read_bytes, depth, time_read_rate(*file, reads, start)});
    }
  }
  if (out.curve.empty())
    fail("{}: too small to measure read bandwidth ({} data bytes)", path, reads.end - reads.begin);
  return out;
}

}  // namespace flashslim::planner
