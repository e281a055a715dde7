#pragma once
// The POSIX calls the backends share: an owned read-only descriptor and a
// pread loop that either fills the destination or throws.
#include <cstdint>
#include <span>
#include <string>

namespace flashslim::storage {

// Owns a file descriptor; closes it on destruction. Move-only.
class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor();
  FileDescriptor(FileDescriptor&& other) noexcept;
  FileDescriptor& operator=(FileDescriptor&& other) noexcept;
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;

  int get() const { return fd_; }

 private:
  int fd_ = -1;
};

// open(path, O_RDONLY | O_CLOEXEC | extra_flags); throws Error naming the path.
FileDescriptor open_read_only(const std::string& path, int extra_flags = 0);
// Size in bytes from fstat; throws Error naming the path.
uint64_t file_size(int fd, const std::string& path);
// Reads into dst at offset, continuing after short reads and EINTR, until at
// least `wanted` bytes (<= dst.size()) arrived or the file ended. Each call
// asks for the rest of dst. `alignment` is the O_DIRECT block size (1 for
// buffered): a partial read ending off a block boundary means the file ended
// there, since continuing at an unaligned offset would fail with EINVAL.
// Returns the bytes read (< wanted only at end of file).
// Throws ReadError naming path, offset, length and errno text.
uint64_t pread_at_least(int fd, const std::string& path, uint64_t offset, std::span<uint8_t> dst,
                        uint64_t wanted, uint64_t alignment = 1);
// One-line message for a read that failed: "read of LEN bytes at offset OFF of PATH: CAUSE".
std::string read_error_message(const std::string& path, uint64_t offset, uint64_t length,
                               const std::string& cause);
// ReadError (ENODATA) for a read that got `got` of `wanted` bytes.
[[noreturn]] void throw_short_read(const std::string& path, uint64_t offset, uint64_t got,
                                   uint64_t wanted);
std::string short_read_cause(uint64_t got, uint64_t wanted);

}  // namespace flashslim::storage
