#pragma once
// Page-cache control, so benchmarks can prove their runs start cold and
// measure how much of the model file the kernel keeps cached.
#include <cstdint>
#include <string>

namespace flashslim::storage {

// sync(), then drops the clean page cache, dentries and inodes of the whole
// machine ("3" > /proc/sys/vm/drop_caches). Needs root; throws Error saying so.
void drop_page_cache();

// Writes back the file's dirty pages and asks the kernel to evict its cached
// pages (posix_fadvise DONTNEED). Works for any file one can open; pages
// mapped by a running process may stay. Throws Error naming the path.
void evict_file_from_page_cache(const std::string& path);

struct PageCacheResidency {
  uint64_t resident_bytes =
      0;  // bytes of the file in the page cache (whole pages, capped at file size)
  uint64_t file_bytes = 0;
  double fraction() const {
    return file_bytes == 0 ? 0.0 : static_cast<double>(resident_bytes) / file_bytes;
  }
};

// How much of the file is in the page cache now (mincore on a fresh mapping,
// which itself faults nothing in). Throws Error naming the path.
PageCacheResidency page_cache_residency(const std::string& path);

}  // namespace flashslim::storage
