#pragma once
// Where the parts of a chunk (or of the resident set) land in one buffer when
// they are read with O_DIRECT: each part is widened to the alignment at both
// ends, widened ranges that touch or overlap are merged into one read, and the
// ranges are packed back to back. A part's bytes then start at
// part_offsets[i] inside the buffer (a view points there, inside the read).
#include <cstdint>
#include <span>
#include <vector>

#include "runtime/stream_plan.h"

namespace flashslim {

struct AlignedRead {
  uint64_t file_offset = 0;    // multiple of the alignment
  uint64_t length = 0;         // multiple of the alignment
  uint64_t buffer_offset = 0;  // multiple of the alignment
};

struct ReadLayout {
  std::vector<AlignedRead> reads;      // ascending file offsets, each <= max_read_bytes
  std::vector<uint64_t> part_offsets;  // per input part: buffer offset of its first byte
  uint64_t buffer_bytes = 0;           // multiple of the alignment
};

// REQUIRES: parts do not overlap in the file; alignment and max_read_bytes
// are powers of two, max_read_bytes >= alignment. Parts may come in any order.
ReadLayout layout_reads(std::span<const TensorRows> parts, uint64_t alignment,
                        uint64_t max_read_bytes);

}  // namespace flashslim
