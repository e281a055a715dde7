// Mmap: the file mapped MAP_SHARED, PROT_READ (what llama.cpp does by default);
// bytes arrive through page faults and the kernel's read-ahead.
#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "storage/backends.h"
#include "storage/posix_file.h"
#include "storage/thread_pool_read_queue.h"

namespace flashslim::storage {
namespace {

int madvise_flag(MmapAdvice advice) {
  switch (advice) {
    case MmapAdvice::Normal:
      return MADV_NORMAL;
    case MmapAdvice::Sequential:
      return MADV_SEQUENTIAL;
    case MmapAdvice::Random:
      return MADV_RANDOM;
    case MmapAdvice::WillNeed:
      return MADV_WILLNEED;
  }
  return MADV_NORMAL;
}

class MmapStorage final : public Storage {
 public:
  MmapStorage(const std::string& path, const StorageOptions& options)
      : path_(path), pool_threads_(options.pool_threads), fd_(open_read_only(path)) {
    size_ = file_size(fd_.get(), path);
    if (size_ == 0) return;  // mmap of zero bytes is invalid; nothing to read anyway
    void* mapped = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd_.get(), 0);
    if (mapped == MAP_FAILED)
      fail("cannot mmap {} ({} bytes): {}", path, size_, std::strerror(errno));
    base_ = static_cast<const uint8_t*>(mapped);
    if (::madvise(mapped, size_, madvise_flag(options.mmap_advice)) != 0) {
      int err = errno;
      ::munmap(mapped, size_);
      fail("madvise on the mapping of {}: {}", path, std::strerror(err));
    }
  }

  ~MmapStorage() override {
    if (base_ != nullptr) ::munmap(const_cast<uint8_t*>(base_), size_);
  }

  const std::string& path() const override { return path_; }
  uint64_t size() const override { return size_; }
  size_t alignment() const override { return 1; }
  const uint8_t* map() const override { return base_; }

  void read(uint64_t offset, std::span<uint8_t> dst) const override {
    check_request(offset, dst.size(), dst.data());
    if (dst.empty()) return;
    timed_read(dst.size(), [&] {
      // Touching pages past a truncated end raises SIGBUS; check first so a
      // truncated file is an error. (Racy by nature; zero-copy users of map()
      // get no such check.)
      uint64_t now_size = file_size(fd_.get(), path_);
      if (now_size < offset + dst.size()) {
        throw_short_read(path_, offset, now_size > offset ? now_size - offset : 0, dst.size());
      }
      std::memcpy(dst.data(), base_ + offset, dst.size());
    });
  }

  std::unique_ptr<ReadQueue> make_queue(unsigned depth) const override {
    return std::make_unique<ThreadPoolReadQueue>(*this, pool_threads_, depth);
  }

  std::string description() const override { return "mmap (page faults)"; }

 private:
  std::string path_;
  unsigned pool_threads_;
  FileDescriptor fd_;
  uint64_t size_ = 0;
  const uint8_t* base_ = nullptr;
};

}  // namespace

std::unique_ptr<Storage> open_mmap_storage(const std::string& path, const StorageOptions& options) {
  return std::make_unique<MmapStorage>(path, options);
}

}  // namespace flashslim::storage
