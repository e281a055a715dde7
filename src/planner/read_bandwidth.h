#pragma once
// The storage's read bandwidth curve, measured on the model file itself with
// the backend the streaming runtime uses (io_uring + O_DIRECT): sequential
// reads of each size at each queue depth; and the timed-read loop it uses,
// which the bench's disk floor runs on a plan's own reads.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "planner/profile.h"
#include "runtime/auto_planner.h"
#include "storage/storage.h"

namespace flashslim::planner {

struct ReadBandwidthOptions {
  std::vector<uint64_t> read_bytes;  // each a multiple of 4096
  std::vector<uint32_t> queue_depths;
  uint64_t bytes_per_point = 64ull << 20;  // read per (size, depth) point, at least
  bool evict_first = true;                 // evict the file from the page cache before each point
};

// The buffer timed reads land in: the runtime reads into its slot ring
// (16-60 MiB in the balanced plans of the 1.1B and 7B models at 25-75%), in
// turn, so timed reads use a ring of that order too. The destination's size
// moves this VM's read rate, and not always the same way: in c11bbd8 reads
// into one 8 MiB buffer (1 MiB x 8) were half as fast as into a 32 MiB ring
// (1.1-1.3 against 1.8-2.5 GB/s); later (session 8) an 8 MiB ring of huge pages
// read 5-9% faster than a 32 MiB one (2.41-2.82 against 2.24-2.39 GB/s, 7
// alternated rounds, both rings backed by transparent huge pages). Why is
// not known.
inline constexpr uint64_t kReadRingBytes = 2 * kPrefetchBytes;

// Sequential reads of the file range [begin, end), in windows of a fixed
// number of reads.
struct ReadWindows {
  uint64_t begin = 0, end = 0;  // byte offsets, multiples of the storage's alignment
  uint64_t read_bytes = 0;      // per read, a multiple of the alignment
  uint32_t depth = 0;           // reads in flight
  uint64_t reads_per_window = 0;
  uint64_t windows = 0;
};

// Reads `shape` from `start` on (updated to where the reads stopped),
// wrapping from end back to begin, with depth reads in flight, into a
// huge-paged ring of at least kReadRingBytes used in order, as the runtime's
// slots are (SlotPool). Returns each window's time, ns: from the end of the
// window before (the first: from the first submission) to the completion of
// the last of its own reads; the reads keep flowing across windows, as they do
// across a streamed run's tokens. Throws Error on a failed read or an empty
// shape.
std::vector<uint64_t> time_read_windows(const storage::Storage& file, const ReadWindows& shape,
                                        uint64_t& start);

// One read: `bytes` at file offset `offset`, both multiples of the storage's
// alignment.
struct FileRead {
  uint64_t offset = 0;
  uint64_t bytes = 0;
};

// One window of time_listed_windows.
struct TimedWindow {
  uint64_t ns = 0;     // as time_read_windows' window times
  uint64_t reads = 0;  // of the window's reads completed, counted as they complete
  uint64_t bytes = 0;  // their lengths
};

// time_read_windows with a given list of reads in place of a sequential range:
// `window_reads` (one window's reads, in the order they are issued) read
// `windows` times over, `depth` in flight, into the same kind of ring (parts
// of the longest read). `at_window_start`, if set, is called as each window's
// time starts (the bench's disk floor starts memory traffic there); it runs in
// the reading thread, so it must return at once. Throws Error on a failed
// read, an empty list, a read of 0 bytes, or depth or windows 0.
std::vector<TimedWindow> time_listed_windows(const storage::Storage& file,
                                             std::span<const FileRead> window_reads, uint32_t depth,
                                             uint64_t windows,
                                             const std::function<void()>& at_window_start = {});

// The mean rate of all of `shape`'s reads (time_read_windows), GB/s.
double time_read_rate(const storage::Storage& file, const ReadWindows& shape, uint64_t& start);

// The range of `file` from `data_offset` to its end, both aligned down to the
// storage's alignment (O_DIRECT), as the begin and end of a ReadWindows.
ReadWindows data_section_reads(const storage::Storage& file, uint64_t data_offset);

// Reads the data section of `path` (wrapping around) for every point. The
// backend in use is stored in `backend` (e.g. the pread-pool fallback).
StorageProfile measure_read_bandwidth(const std::string& path, uint64_t data_offset,
                                      const ReadBandwidthOptions& options);

}  // namespace flashslim::planner
