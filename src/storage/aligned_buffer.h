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

  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t size, size_t alignment = kDefaultAlignment);
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
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace flashslim::storage
