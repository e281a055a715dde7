#include "storage/posix_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "core/error.h"
#include "storage/storage.h"

namespace flashslim::storage {

FileDescriptor::~FileDescriptor() {
  if (fd_ >= 0) ::close(fd_);
}

FileDescriptor::FileDescriptor(FileDescriptor&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)) {}

FileDescriptor& FileDescriptor::operator=(FileDescriptor&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

FileDescriptor open_read_only(const std::string& path, int extra_flags) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | extra_flags);
  if (fd < 0) fail("cannot open {}: {}", path, std::strerror(errno));
  return FileDescriptor(fd);
}

uint64_t file_size(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail("cannot stat {}: {}", path, std::strerror(errno));
  return static_cast<uint64_t>(st.st_size);
}

std::string read_error_message(const std::string& path, uint64_t offset, uint64_t length,
                               const std::string& cause) {
  return fmt::format("read of {} bytes at offset {} of {} failed: {}", length, offset, path, cause);
}

std::string short_read_cause(uint64_t got, uint64_t wanted) {
  return fmt::format("short read, got {} of {} bytes (file truncated?)", got, wanted);
}

void throw_short_read(const std::string& path, uint64_t offset, uint64_t got, uint64_t wanted) {
  throw ReadError(read_error_message(path, offset, wanted, short_read_cause(got, wanted)), ENODATA);
}

uint64_t pread_at_least(int fd, const std::string& path, uint64_t offset, std::span<uint8_t> dst,
                        uint64_t wanted, uint64_t alignment) {
  uint64_t done = 0;
  while (done < wanted) {
    ssize_t n =
        ::pread(fd, dst.data() + done, dst.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      throw ReadError(read_error_message(path, offset, dst.size(), std::strerror(err)), err);
    }
    if (n == 0) break;  // end of file
    done += static_cast<uint64_t>(n);
    if (done % alignment != 0) break;  // ended mid-block: end of file
  }
  return done;
}

}  // namespace flashslim::storage
