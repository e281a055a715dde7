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

}  // namespace

std::vector<uint64_t> time_read_windows(const storage::Storage& file, const ReadWindows& shape,
                                        uint64_t& start,
                                        const std::function<void()>& at_window_start) {
  if (shape.read_bytes == 0 || shape.depth == 0 || shape.reads_per_window == 0 ||
      shape.windows == 0)
    fail(
        "timed reads: read size {}, depth {}, {} reads per window, {} windows: each must be "
        "positive",
        shape.read_bytes, shape.depth, shape.reads_per_window, shape.windows);
  if (shape.end - shape.begin < shape.read_bytes)
    fail("timed reads: range [{}, {}) of {} is shorter than one read of {} bytes", shape.begin,
         shape.end, file.path(), shape.read_bytes);
  auto queue = file.make_queue(shape.depth);
  const uint64_t n_parts = std::max<uint64_t>(shape.depth, kReadRingBytes / shape.read_bytes);
  storage::AlignedBuffer memory = storage::AlignedBuffer::huge_paged(shape.read_bytes * n_parts);
  std::vector<std::span<uint8_t>> buffers;
  for (uint64_t i = 0; i < n_parts; ++i)
    buffers.push_back(memory.span().subspan(i * shape.read_bytes, shape.read_bytes));
  std::deque<uint32_t> free_buffers;
  for (uint32_t i = 0; i < n_parts; ++i) free_buffers.push_back(i);

  const uint64_t total_reads = shape.reads_per_window * shape.windows;
  uint64_t offset = start, issued = 0, done = 0;
  std::vector<uint64_t> window_ns;
  window_ns.reserve(shape.windows);
  uint64_t window_start = storage::now_ns();
  if (at_window_start) at_window_start();
  while (done < total_reads) {
    while (issued < total_reads && queue->in_flight() < shape.depth) {
      if (offset + shape.read_bytes > shape.end) offset = shape.begin;
      const uint32_t b = free_buffers.front();
      free_buffers.pop_front();
      queue->submit({offset, buffers[b], b});
      offset += shape.read_bytes;
      ++issued;
    }
    const storage::ReadCompletion c = queue->wait_one();
    if (!c.ok()) fail("timed reads of {}: {}", file.path(), c.error);
    free_buffers.push_back(static_cast<uint32_t>(c.tag));
    if (++done % shape.reads_per_window == 0) {
      const uint64_t now = storage::now_ns();
      window_ns.push_back(now - window_start);
      window_start = now;
      if (at_window_start && done < total_reads) at_window_start();
    }
  }
  start = offset;
  return window_ns;
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
