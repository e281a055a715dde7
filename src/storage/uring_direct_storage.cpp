// UringDirect: an O_DIRECT descriptor (the model file stays out of the page
// cache, so it does not count against a memory limit) and io_uring queues that
// keep several aligned reads in flight. Degrades with a notice: to a pread
// thread pool without io_uring, to buffered reads without O_DIRECT.
#include <fcntl.h>
#include <liburing.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <vector>

#include "storage/aligned_buffer.h"
#include "storage/backends.h"
#include "storage/posix_file.h"
#include "storage/thread_pool_read_queue.h"

namespace flashslim::storage {
namespace {

// O_DIRECT needs offsets, lengths and buffers aligned to the logical block
// size (512 here); a page covers every device we target.
constexpr size_t kDirectAlignment = 4096;

// Bytes of [offset, offset + length) that lie inside a file of `size` bytes.
uint64_t bytes_in_file(uint64_t offset, uint64_t length, uint64_t size) {
  return offset >= size ? 0 : std::min(length, size - offset);
}

// One io_uring ring with up to `depth` reads in flight. A read the kernel
// completes only in part is resubmitted for the rest; a read that hits the end
// of the file before its bytes arrived completes with a short-read error.
class UringReadQueue final : public ReadQueue {
 public:
  // Throws ReadError carrying the errno of io_uring_queue_init on failure.
  UringReadQueue(const Storage& storage, int fd, IoCounters& counters, unsigned depth)
      : storage_(storage), fd_(fd), counters_(counters), depth_(depth), ops_(depth) {
    if (depth == 0) fail("read queue of {}: depth must be at least 1", storage.path());
    if (int err = io_uring_queue_init(depth, &ring_, 0); err < 0) {
      throw ReadError(fmt::format("io_uring_queue_init({}): {}", depth, std::strerror(-err)), -err);
    }
    for (unsigned i = depth; i > 0; --i) free_ops_.push_back(i - 1);
  }

  ~UringReadQueue() override {
    // The kernel writes into the callers' buffers until each submitted read
    // completes, so wait for all of them before tearing the ring down.
    unsigned outstanding = depth_ - static_cast<unsigned>(free_ops_.size());
    while (outstanding > 0) {
      io_uring_cqe* cqe = nullptr;
      int err = io_uring_wait_cqe(&ring_, &cqe);
      if (err == -EINTR) continue;
      if (err < 0) break;  // ring unusable; nothing more will complete
      io_uring_cqe_seen(&ring_, cqe);
      --outstanding;
    }
    io_uring_queue_exit(&ring_);
  }

  void submit(const ReadRequest& request) override {
    if (in_flight_ >= depth_) {
      fail("read queue of {} is full ({} reads in flight)", storage_.path(), in_flight_);
    }
    storage_.check_request(request.offset, request.dst.size(), request.dst.data());
    unsigned index = free_ops_.back();
    free_ops_.pop_back();
    ops_[index] = Op{request, bytes_in_file(request.offset, request.dst.size(), storage_.size()), 0,
                     now_ns()};
    ++in_flight_;
    if (ops_[index].wanted == 0) {
      instant_.push_back(finish(index, 0, ""));
      return;
    }
    issue(index);
  }

  ReadCompletion wait_one() override {
    if (in_flight_ == 0) {
      fail("wait_one on the read queue of {} with no read in flight", storage_.path());
    }
    while (true) {
      if (auto completion = take_instant()) return *completion;
      io_uring_cqe* cqe = nullptr;
      int err = io_uring_wait_cqe(&ring_, &cqe);
      if (err == -EINTR) continue;
      if (err < 0) fail("io_uring_wait_cqe on {}: {}", storage_.path(), std::strerror(-err));
      if (auto completion = handle(cqe)) return reaped(std::move(*completion));
    }
  }

  std::optional<ReadCompletion> poll() override {
    if (auto completion = take_instant()) return completion;
    io_uring_cqe* cqe = nullptr;
    while (io_uring_peek_cqe(&ring_, &cqe) == 0) {
      if (auto completion = handle(cqe)) return reaped(std::move(*completion));
    }
    return std::nullopt;
  }

  unsigned in_flight() const override { return in_flight_; }
  unsigned capacity() const override { return depth_; }

 private:
  struct Op {
    ReadRequest request;
    uint64_t wanted = 0;    // bytes of the request inside the file
    uint64_t done = 0;      // bytes arrived so far
    uint64_t start_ns = 0;  // for the latency in IoStats
  };

  // Queues the rest of op `index` (from op.done on) and submits it.
  void issue(unsigned index) {
    Op& op = ops_[index];
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    // Never null: the ring has `depth` entries, each op owns at most one, and
    // every entry is submitted right away.
    io_uring_prep_read(sqe, fd_, op.request.dst.data() + op.done,
                       static_cast<unsigned>(op.request.dst.size() - op.done),
                       op.request.offset + op.done);
    io_uring_sqe_set_data64(sqe, index);
    int submitted;
    do {
      submitted = io_uring_submit(&ring_);
    } while (submitted == -EINTR);
    if (submitted < 0)
      fail("io_uring_submit on {}: {}", storage_.path(), std::strerror(-submitted));
  }

  // Consumes one CQE; returns the completion if its read is finished.
  std::optional<ReadCompletion> handle(io_uring_cqe* cqe) {
    unsigned index = static_cast<unsigned>(io_uring_cqe_get_data64(cqe));
    int result = cqe->res;
    io_uring_cqe_seen(&ring_, cqe);
    Op& op = ops_[index];
    if (result == -EINTR || result == -EAGAIN) {
      issue(index);
      return std::nullopt;
    }
    if (result < 0) return finish(index, -result, std::strerror(-result));
    if (result == 0) return finish(index, ENODATA, short_read_cause(op.done, op.wanted));
    op.done += static_cast<uint64_t>(result);
    if (op.done < op.wanted && op.done % storage_.alignment() != 0) {
      // O_DIRECT returns a partial block only at the end of the file, so the
      // file shrank since open; resubmitting at an unaligned offset could fail
      // with EINVAL instead of reporting the short read.
      return finish(index, ENODATA, short_read_cause(op.done, op.wanted));
    }
    if (op.done < op.wanted) {
      issue(index);
      return std::nullopt;
    }
    return finish(index, 0, "");
  }

  // Ends op `index`: zero-fills the aligned tail, records stats, frees the op.
  ReadCompletion finish(unsigned index, int error_code, const std::string& cause) {
    Op& op = ops_[index];
    ReadCompletion completion;
    completion.tag = op.request.tag;
    if (error_code == 0) {
      if (op.done < op.request.dst.size()) {
        std::memset(op.request.dst.data() + op.done, 0, op.request.dst.size() - op.done);
      }
      completion.bytes = op.wanted;
      counters_.record(op.wanted, now_ns() - op.start_ns);
    } else {
      completion.error_code = error_code;
      completion.error =
          read_error_message(storage_.path(), op.request.offset, op.request.dst.size(), cause);
      counters_.record_failure();
    }
    free_ops_.push_back(index);
    return completion;
  }

  std::optional<ReadCompletion> take_instant() {
    if (instant_.empty()) return std::nullopt;
    ReadCompletion completion = std::move(instant_.front());
    instant_.pop_front();
    return reaped(std::move(completion));
  }

  ReadCompletion reaped(ReadCompletion completion) {
    --in_flight_;
    return completion;
  }

  const Storage& storage_;
  const int fd_;
  IoCounters& counters_;
  const unsigned depth_;
  io_uring ring_{};
  std::vector<Op> ops_;
  std::vector<unsigned> free_ops_;
  std::deque<ReadCompletion> instant_;  // zero-byte reads, finished at submit
  unsigned in_flight_ = 0;              // submitted and not yet reaped
};

// 0 if this process can create an io_uring, else the errno (ENOSYS, EPERM...).
int probe_io_uring() {
  io_uring ring{};
  int err = io_uring_queue_init(1, &ring, 0);
  if (err < 0) return -err;
  io_uring_queue_exit(&ring);
  return 0;
}

class UringDirectStorage final : public Storage {
 public:
  UringDirectStorage(const std::string& path, const StorageOptions& options)
      : path_(path), pool_threads_(options.pool_threads), direct_(options.direct_io) {
    if (direct_) {
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECT);
      if (fd >= 0) {
        fd_ = FileDescriptor(fd);
      } else if (errno == EINVAL) {
        direct_ = false;
        fallback_ = "O_DIRECT refused by the filesystem";
        print_notice_once("no-odirect", fmt::format("the filesystem of {} refuses O_DIRECT; "
                                                    "reading it through the page cache",
                                                    path));
      } else {
        fail("cannot open {} with O_DIRECT: {}", path, std::strerror(errno));
      }
    }
    if (!direct_) fd_ = open_read_only(path);
    size_ = file_size(fd_.get(), path);
    use_uring_ = options.use_io_uring;
    if (use_uring_) {
      if (int err = probe_io_uring(); err != 0) fall_back_to_pool(std::strerror(err));
    }
  }

  const std::string& path() const override { return path_; }
  uint64_t size() const override { return size_; }
  size_t alignment() const override { return direct_ ? kDirectAlignment : 1; }

  void read(uint64_t offset, std::span<uint8_t> dst) const override {
    check_request(offset, dst.size(), dst.data());
    uint64_t wanted = bytes_in_file(offset, dst.size(), size_);
    timed_read(wanted, [&] {
      uint64_t got = pread_at_least(fd_.get(), path_, offset, dst, wanted, alignment());
      if (got < wanted) throw_short_read(path_, offset, got, wanted);
      if (got < dst.size()) std::memset(dst.data() + got, 0, dst.size() - got);
    });
  }

  std::unique_ptr<ReadQueue> make_queue(unsigned depth) const override {
    if (use_uring_) {
      try {
        return std::make_unique<UringReadQueue>(*this, fd_.get(), counters_, depth);
      } catch (const ReadError& e) {
        // e.g. ENOMEM from RLIMIT_MEMLOCK on older kernels; the pool still works.
        print_notice_once(
            "uring-queue",
            fmt::format("{}; async reads of {} use a pread thread pool", e.what(), path_));
      }
    }
    return std::make_unique<ThreadPoolReadQueue>(*this, pool_threads_, depth);
  }

  std::string description() const override {
    std::string text = use_uring_ ? "io_uring" : "pread pool";
    text += direct_ ? " O_DIRECT" : " buffered";
    if (!fallback_.empty()) text += " (" + fallback_ + ")";
    return text;
  }

 private:
  void fall_back_to_pool(const std::string& reason) {
    use_uring_ = false;
    fallback_ = "io_uring unavailable: " + reason;
    print_notice_once("no-io-uring", fmt::format("io_uring unavailable ({}); async reads use a "
                                                 "pread thread pool instead",
                                                 reason));
  }

  std::string path_;
  unsigned pool_threads_;
  bool direct_;
  bool use_uring_ = false;
  std::string fallback_;  // why the backend is degraded; empty when it is not
  FileDescriptor fd_;
  uint64_t size_ = 0;
};

}  // namespace

std::unique_ptr<Storage> open_uring_direct_storage(const std::string& path,
                                                   const StorageOptions& options) {
  return std::make_unique<UringDirectStorage>(path, options);
}

}  // namespace flashslim::storage
