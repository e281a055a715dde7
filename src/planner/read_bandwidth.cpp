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

// The buffer a point's reads land in: the runtime reads into its slot ring
// (16-60 MiB in the balanced plans of the 1.1B and 7B models at 25-75%), in
// turn. Reads into a buffer of read_bytes x depth (8 MiB at 1 MiB x 8) reused
// by the read that just completed were half as fast: 1.1-1.3 GB/s at every
// point up to 8 MiB where a 32 MiB ring read 1.8-2.5 in alternated TinyLlama
// profiles, and runs of the runtime right after read 1.5-2.2. Why is not
// known; the same buffer in 4 KiB pages read 1.1-1.2 as well.
constexpr uint64_t kRingBytes = 2 * kPrefetchBytes;

// One point: sequential reads of `read_bytes` at `depth` in flight, from
// `start` on, wrapping from `end` back to `begin`, into a huge-paged ring of
// at least kRingBytes used in order, as the runtime's slots are (SlotPool).
// Returns GB/s.
double measure_point(const storage::Storage& file, uint64_t begin, uint64_t end, uint64_t& start,
                     uint64_t read_bytes, uint32_t depth, uint64_t total_bytes) {
  auto queue = file.make_queue(depth);
  const uint64_t n_parts = std::max<uint64_t>(depth, kRingBytes / read_bytes);
  storage::AlignedBuffer memory = storage::AlignedBuffer::huge_paged(read_bytes * n_parts);
  std::vector<std::span<uint8_t>> buffers;
  for (uint64_t i = 0; i < n_parts; ++i)
    buffers.push_back(memory.span().subspan(i * read_bytes, read_bytes));
  std::deque<uint32_t> free_buffers;
  for (uint32_t i = 0; i < n_parts; ++i) free_buffers.push_back(i);

  uint64_t offset = start, issued = 0, done = 0;
  const uint64_t t0 = storage::now_ns();
  while (done < total_bytes) {
    while (issued < total_bytes && queue->in_flight() < depth) {
      if (offset + read_bytes > end) offset = begin;
      const uint32_t b = free_buffers.front();
      free_buffers.pop_front();
      queue->submit({offset, buffers[b], b});
      offset += read_bytes;
      issued += read_bytes;
    }
    const storage::ReadCompletion c = queue->wait_one();
    if (!c.ok()) fail("read bandwidth measurement: {}", c.error);
    free_buffers.push_back(static_cast<uint32_t>(c.tag));
    done += read_bytes;
  }
  const uint64_t ns = storage::now_ns() - t0;
  start = offset;
  return static_cast<double>(done) / static_cast<double>(ns);
}

}  // namespace

StorageProfile measure_read_bandwidth(const std::string& path, uint64_t data_offset,
                                      const ReadBandwidthOptions& options) {
  StorageProfile out;
  describe_device(path, out);
  const auto file = storage::open_storage(path, storage::StorageKind::UringDirect);
  out.backend = file->description();
  const uint64_t align = file->alignment();
  const uint64_t begin = storage::align_down(data_offset, align);
  const uint64_t end = storage::align_down(file->size(), align);
  uint64_t start = begin;
  out.evicted_before = options.evict_first;
  for (uint64_t read_bytes : options.read_bytes) {
    if (read_bytes % align || read_bytes == 0)
      fail("read bandwidth: read size {} is not a positive multiple of {}", read_bytes, align);
    if (end - begin < read_bytes) continue;  // the file is smaller than one read
    for (uint32_t depth : options.queue_depths) {
      if (options.evict_first) storage::evict_file_from_page_cache(path);
      const uint64_t total = std::max<uint64_t>(options.bytes_per_point, 4ull * read_bytes * depth);
      const uint64_t total_reads = (total + read_bytes - 1) / read_bytes;
      const double gbps =
          measure_point(*file, begin, end, start, read_bytes, depth, total_reads * read_bytes);
      out.curve.push_back({read_bytes, depth, gbps});
    }
  }
  if (out.curve.empty())
    fail("{}: too small to measure read bandwidth ({} data bytes)", path, end - begin);
  return out;
}

}  // namespace flashslim::planner
