#pragma once
// Memory aligned for O_DIRECT reads, and the rounding helpers callers use to
// size reads for Storage::alignment().
#include <cstddef>
#include <cstdint>
#include <span>

namespace flashslim::storage {

// REQUIRES: alignment is a power of two.
constexpr uint64_t align_down(uint64_t value, uint64_t alignment) {
  return value & ~(alignment - 1);
}
constexpr uint64_t align_up(uint64_t value, uint64_t alignment) {
  return align_down(value + alignment - 1, alignment);
}

// Owns `size` bytes aligned to `alignment` (default: a page, enough for
// O_DIRECT on any device here). Contents are zero-initialised. Move-only.
class AlignedBuffer {
 public:
  static constexpr size_t kDefaultAlignment = 4096;
  static constexpr size_t kHugePageBytes = 2 << 20;

  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t size, size_t alignment = kDefaultAlignment);
  // For large O_DIRECT reads: aligned to kHugePageBytes, with the whole huge
  // pages inside it asked for as transparent huge pages (MADV_HUGEPAGE; a
  // hint, without effect where THP is off), so it never holds more memory
  // than a plain buffer. This virtio disk reads about twice as fast into huge
  // pages (likely: a read reaches it as one segment per physically contiguous
  // run, up to 256 for 1 MiB in 4 KiB pages, one in a huge page). Replaying a
  // TinyLlama stream's 1 MiB reads at depth 8, cold: 1.9-2.2 GB/s into huge
  // pages, 0.9-1.3 into 4 KiB pages (5 alternated rounds).
  static AlignedBuffer huge_paged(size_t size);
  ~AlignedBuffer();
  AlignedBuffer(AlignedBuffer&& other) noexcept;
  AlignedBuffer& operator=(AlignedBuffer&& other) noexcept;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  std::span<uint8_t> span() { return {data_, size_}; }
  std::span<const uint8_t> span() const { return {data_, size_}; }

 private:
  AlignedBuffer(size_t size, size_t alignment, bool huge_pages);

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace flashslim::storage
