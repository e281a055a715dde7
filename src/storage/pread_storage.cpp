// Pread: buffered pread(2) through the page cache; async reads on a thread pool.
#include "storage/backends.h"
#include "storage/posix_file.h"
#include "storage/thread_pool_read_queue.h"

namespace flashslim::storage {
namespace {

class PreadStorage final : public Storage {
 public:
  PreadStorage(const std::string& path, const StorageOptions& options)
      : path_(path), pool_threads_(options.pool_threads), fd_(open_read_only(path)) {
    size_ = file_size(fd_.get(), path);
  }

  const std::string& path() const override { return path_; }
  uint64_t size() const override { return size_; }
  size_t alignment() const override { return 1; }

  void read(uint64_t offset, std::span<uint8_t> dst) const override {
    check_request(offset, dst.size(), dst.data());
    timed_read(dst.size(), [&] {
      uint64_t got = pread_at_least(fd_.get(), path_, offset, dst, dst.size());
      if (got < dst.size()) throw_short_read(path_, offset, got, dst.size());
    });
  }

  std::unique_ptr<ReadQueue> make_queue(unsigned depth) const override {
    return std::make_unique<ThreadPoolReadQueue>(*this, pool_threads_, depth);
  }

  std::string description() const override { return "pread (buffered)"; }

 private:
  std::string path_;
  unsigned pool_threads_;
  FileDescriptor fd_;
  uint64_t size_ = 0;
};

}  // namespace

std::unique_ptr<Storage> open_pread_storage(const std::string& path,
                                            const StorageOptions& options) {
  return std::make_unique<PreadStorage>(path, options);
}

}  // namespace flashslim::storage
