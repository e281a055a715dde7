#include "runtime/read_layout.h"

#include <algorithm>
#include <numeric>

#include "storage/aligned_buffer.h"

namespace flashslim {

ReadLayout layout_reads(std::span<const TensorRows> parts, uint64_t alignment,
                        uint64_t max_read_bytes) {
  using storage::align_down;
  using storage::align_up;
  std::vector<size_t> order(parts.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return parts[a].file_offset < parts[b].file_offset; });

  ReadLayout layout;
  layout.part_offsets.resize(parts.size());
  // Merged widened ranges [begin, end) in file order, with their buffer offset.
  uint64_t range_begin = 0, range_end = 0, range_buffer = 0;
  bool open = false;
  auto close_range = [&] {
    for (uint64_t off = range_begin; off < range_end; off += max_read_bytes)
      layout.reads.push_back(
          {off, std::min(max_read_bytes, range_end - off), range_buffer + (off - range_begin)});
    layout.buffer_bytes = range_buffer + (range_end - range_begin);
  };
  for (size_t i : order) {
    const TensorRows& p = parts[i];
    const uint64_t begin = align_down(p.file_offset, alignment);
    const uint64_t end = align_up(p.file_offset + p.bytes, alignment);
    if (open && begin <= range_end) {
      range_end = std::max(range_end, end);
    } else {
      if (open) close_range();
      range_buffer = layout.buffer_bytes;
      range_begin = begin;
      range_end = end;
      open = true;
    }
    layout.part_offsets[i] = range_buffer + (p.file_offset - range_begin);
  }
  if (open) close_range();
  return layout;
}

}  // namespace flashslim
