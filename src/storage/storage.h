#pragma once
// How bytes of a model file reach memory. One narrow interface, four backends
// (whole-file, mmap, pread, io_uring + O_DIRECT) and a fault-injecting wrapper,
// so the runtime can switch strategy and tests can break the disk on purpose.
//
// Contract shared by every Storage:
// - The file is opened read-only; size() and path() are fixed at open.
// - Every method of Storage is thread-safe. A ReadQueue is not: one thread owns
//   it (submits and reaps); use one queue per I/O thread.
// - Failures throw flashslim::Error with one line naming path, offset, length
//   and the OS error text; reads never return partial data silently.
// - Reads must start and end on multiples of alignment() and the destination
//   must be aligned to it too (see AlignedBuffer). A read may run past the end
//   of the file only up to align_up(size(), alignment()); those bytes are
//   zero-filled. With alignment() == 1 every read lies within the file.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/error.h"
#include "storage/io_stats.h"

namespace flashslim::storage {

// A read that failed, with the errno value (EIO, ENODATA for a short read, ...)
// so callers can tell kinds apart; what() names path, offset and length.
class ReadError : public Error {
 public:
  ReadError(const std::string& message, int error_code) : Error(message), error_code_(error_code) {}
  int error_code() const { return error_code_; }

 private:
  int error_code_;
};

enum class StorageKind {
  WholeFile,    // whole file read into one aligned buffer at open; map() points at it
  Mmap,         // MAP_SHARED, PROT_READ; reads copy out of the mapping (page faults)
  Pread,        // buffered pread(2); async reads run on a small thread pool
  UringDirect,  // O_DIRECT fd; async reads through io_uring with several in flight
};
const char* storage_kind_name(StorageKind kind);  // "whole", "mmap", "pread", "uring"
// Parses the names above; throws Error listing the accepted names otherwise.
StorageKind parse_storage_kind(std::string_view name);

// madvise(2) hint for MmapStorage.
enum class MmapAdvice { Normal, Sequential, Random, WillNeed };

struct StorageOptions {
  MmapAdvice mmap_advice = MmapAdvice::Normal;
  // Threads that serve async reads for backends without native async I/O
  // (pread, mmap, and UringDirect when io_uring is unavailable).
  unsigned pool_threads = 4;
  // UringDirect only. false: O_DIRECT reads on the pread thread pool instead of
  // io_uring (the fallback, selectable to compare the two).
  bool use_io_uring = true;
  // UringDirect only. false: buffered reads on the same code path (no O_DIRECT).
  bool direct_io = true;
};

// One asynchronous read. dst must stay valid and untouched until the
// completion with this tag has been reaped (or the queue destroyed).
struct ReadRequest {
  uint64_t offset = 0;
  std::span<uint8_t> dst;
  uint64_t tag = 0;  // returned unchanged in the completion
};

struct ReadCompletion {
  uint64_t tag = 0;
  uint64_t bytes = 0;  // file bytes placed in dst (less than dst.size() only at an aligned tail)
  int error_code = 0;  // errno value; 0 on success
  std::string error;   // one-line message (path, offset, length, cause); empty on success
  bool ok() const { return error_code == 0; }
};

// Keeps up to capacity() reads in flight and hands back their completions in
// the order they finish. Owned and used by one thread. The destructor waits for
// reads still in flight, whose buffers are written until then: buffers must
// outlive the queue. An Error thrown by submit/wait_one for a failure of the
// queue itself (not of a read) leaves it unusable; destroy it.
class ReadQueue {
 public:
  virtual ~ReadQueue() = default;
  // REQUIRES: in_flight() < capacity(); request within the Storage's rules.
  // Errors of the read itself arrive in its completion, not here.
  virtual void submit(const ReadRequest& request) = 0;
  // Blocks until one read completes. REQUIRES: in_flight() > 0 (throws otherwise).
  virtual ReadCompletion wait_one() = 0;
  // Returns a finished read if there is one, without blocking.
  virtual std::optional<ReadCompletion> poll() = 0;
  virtual unsigned in_flight() const = 0;
  virtual unsigned capacity() const = 0;
};

class Storage {
 public:
  virtual ~Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  virtual const std::string& path() const = 0;
  virtual uint64_t size() const = 0;  // bytes, at open
  // Required alignment (bytes) of offsets, lengths and buffers: 4096 with
  // O_DIRECT, 1 otherwise.
  virtual size_t alignment() const = 0;
  // The whole file in memory (WholeFile, Mmap), for zero-copy views valid as
  // long as the Storage lives; nullptr for backends that only copy. A mapped
  // file truncated by someone else raises SIGBUS on access; read() checks.
  virtual const uint8_t* map() const { return nullptr; }
  // Reads dst.size() bytes at offset, completely, or throws ReadError
  // ("short read" when the file ended early, e.g. it was truncated).
  virtual void read(uint64_t offset, std::span<uint8_t> dst) const = 0;
  // A new queue for asynchronous reads, up to `depth` in flight. The queue
  // refers to this Storage, which must outlive it.
  virtual std::unique_ptr<ReadQueue> make_queue(unsigned depth) const = 0;
  // Human-readable backend actually in use, e.g. "io_uring O_DIRECT" or
  // "pread pool O_DIRECT (io_uring unavailable: ...)", for run statistics.
  virtual std::string description() const = 0;

  // Throws Error unless a read of `length` bytes at `offset` into `dst` obeys
  // the alignment and end-of-file rules above.
  void check_request(uint64_t offset, size_t length, const void* dst) const;

  // Reads served from the file so far (sync and async) and time spent in
  // them. WholeFile counts its load at open; its later reads are memory copies.
  IoStats stats() const { return counters_.snapshot(); }

 protected:
  Storage() = default;
  // Runs `read` (which delivers `bytes` or throws) and records it in the stats.
  template <typename ReadFn>
  void timed_read(uint64_t bytes, ReadFn&& read) const {
    uint64_t start = now_ns();
    try {
      read();
    } catch (...) {
      counters_.record_failure();
      throw;
    }
    counters_.record(bytes, now_ns() - start);
  }
  mutable IoCounters counters_;
};

// Opens `path` with the given backend. Throws Error naming the path on failure.
// UringDirect degrades with a one-line notice on stderr (printed once per
// process): to the pread pool if io_uring is unavailable, to buffered reads
// if the filesystem refuses O_DIRECT (e.g. tmpfs).
std::unique_ptr<Storage> open_storage(const std::string& path, StorageKind kind,
                                      const StorageOptions& options = {});

}  // namespace flashslim::storage
