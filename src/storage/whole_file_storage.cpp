// WholeFile: the file is read once at open into one aligned buffer; later
// reads are memory copies and map() gives zero-copy views of it.
#include <cstring>

#include "storage/aligned_buffer.h"
#include "storage/backends.h"
#include "storage/posix_file.h"
#include "storage/thread_pool_read_queue.h"

namespace flashslim::storage {
namespace {

class WholeFileStorage final : public Storage {
 public:
  WholeFileStorage(const std::string& path, const StorageOptions& options)
      : path_(path), pool_threads_(options.pool_threads) {
    FileDescriptor fd = open_read_only(path);
    size_ = file_size(fd.get(), path);
    buffer_ = AlignedBuffer(size_);
    timed_read(size_, [&] {
      uint64_t got = pread_at_least(fd.get(), path_, 0, buffer_.span(), size_);
      if (got < size_) throw_short_read(path_, 0, got, size_);
    });
  }

  const std::string& path() const override { return path_; }
  uint64_t size() const override { return size_; }
  size_t alignment() const override { return 1; }
  const uint8_t* map() const override { return buffer_.data(); }

  void read(uint64_t offset, std::span<uint8_t> dst) const override {
    check_request(offset, dst.size(), dst.data());
    if (!dst.empty()) std::memcpy(dst.data(), buffer_.data() + offset, dst.size());
  }

  std::unique_ptr<ReadQueue> make_queue(unsigned depth) const override {
    return std::make_unique<ThreadPoolReadQueue>(*this, pool_threads_, depth);
  }

  std::string description() const override { return "whole file in memory"; }

 private:
  std::string path_;
  unsigned pool_threads_;
  uint64_t size_ = 0;
  AlignedBuffer buffer_;
};

}  // namespace

std::unique_ptr<Storage> open_whole_file_storage(const std::string& path,
                                                 const StorageOptions& options) {
  return std::make_unique<WholeFileStorage>(path, options);
}

}  // namespace flashslim::storage
