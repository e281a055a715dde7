#include "storage/page_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "storage/posix_file.h"

namespace flashslim::storage {

void drop_page_cache() {
  constexpr const char* kControl = "/proc/sys/vm/drop_caches";
  ::sync();
  FileDescriptor fd(::open(kControl, O_WRONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    fail("cannot drop the page cache: open {}: {} (needs root)", kControl, std::strerror(errno));
  }
  if (::write(fd.get(), "3", 1) != 1) {
    fail("cannot drop the page cache: write {}: {} (needs root)", kControl, std::strerror(errno));
  }
}

void evict_file_from_page_cache(const std::string& path) {
  FileDescriptor fd = open_read_only(path);
  // Dirty pages cannot be dropped; write them back first.
  if (::fdatasync(fd.get()) != 0) fail("fdatasync {}: {}", path, std::strerror(errno));
  if (int err = ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED); err != 0) {
    fail("posix_fadvise(DONTNEED) on {}: {}", path, std::strerror(err));
  }
}

PageCacheResidency page_cache_residency(const std::string& path) {
  FileDescriptor fd = open_read_only(path);
  PageCacheResidency residency;
  residency.file_bytes = file_size(fd.get(), path);
  if (residency.file_bytes == 0) return residency;
  void* mapped = ::mmap(nullptr, residency.file_bytes, PROT_READ, MAP_SHARED, fd.get(), 0);
  if (mapped == MAP_FAILED)
    fail("cannot mmap {} to measure residency: {}", path, std::strerror(errno));
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> pages((residency.file_bytes + page - 1) / page);
  int status = ::mincore(mapped, residency.file_bytes, pages.data());
  int err = errno;
  ::munmap(mapped, residency.file_bytes);
  if (status != 0) fail("mincore on {}: {}", path, std::strerror(err));
  for (size_t i = 0; i < pages.size(); ++i) {
    if (pages[i] & 1) {
      residency.resident_bytes += std::min(page, residency.file_bytes - i * page);
    }
  }
  return residency;
}

}  // namespace flashslim::storage
