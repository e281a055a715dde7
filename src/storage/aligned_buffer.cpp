#include "storage/aligned_buffer.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "core/error.h"

namespace flashslim::storage {

AlignedBuffer::AlignedBuffer(size_t size, size_t alignment)
    : AlignedBuffer(size, alignment, false) {}

AlignedBuffer AlignedBuffer::huge_paged(size_t size) {
  return AlignedBuffer(size, kHugePageBytes, true);
}

AlignedBuffer::AlignedBuffer(size_t size, size_t alignment, bool huge_pages) : size_(size) {
  if (size == 0) return;
  void* memory = nullptr;
  if (int err = posix_memalign(&memory, alignment, size); err != 0) {
    fail("cannot allocate {} bytes aligned to {}: {}", size, alignment, std::strerror(err));
  }
  data_ = static_cast<uint8_t*>(memory);
  // Only whole huge pages inside the buffer: the allocation's slack stays untouched.
  const uint64_t whole = align_down(size, kHugePageBytes);
  if (huge_pages && whole > 0) madvise(data_, whole, MADV_HUGEPAGE);  // a hint; errors ignored
  std::memset(data_, 0, size);  // before first use: faults in the (huge) pages
}

AlignedBuffer::~AlignedBuffer() { std::free(data_); }

AlignedBuffer::AlignedBuffer(AlignedBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

AlignedBuffer& AlignedBuffer::operator=(AlignedBuffer&& other) noexcept {
  if (this != &other) {
    std::free(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

}  // namespace flashslim::storage
