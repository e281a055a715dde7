#include "storage/storage.h"

#include <cstdio>
#include <mutex>
#include <set>

#include "storage/aligned_buffer.h"
#include "storage/backends.h"

namespace flashslim::storage {

const char* storage_kind_name(StorageKind kind) {
  switch (kind) {
    case StorageKind::WholeFile:
      return "whole";
    case StorageKind::Mmap:
      return "mmap";
    case StorageKind::Pread:
      return "pread";
    case StorageKind::UringDirect:
      return "uring";
  }
  return "?";
}

StorageKind parse_storage_kind(std::string_view name) {
  for (StorageKind kind :
       {StorageKind::WholeFile, StorageKind::Mmap, StorageKind::Pread, StorageKind::UringDirect}) {
    if (name == storage_kind_name(kind)) return kind;
  }
  fail("unknown storage kind '{}' (expected whole, mmap, pread or uring)", name);
}

void Storage::check_request(uint64_t offset, size_t length, const void* dst) const {
  const uint64_t align = alignment();
  const uint64_t end_limit = align_up(size(), align);
  if (offset > end_limit || length > end_limit - offset) {
    fail("read of {} bytes at offset {} of {} runs past the end of the file ({} bytes)", length,
         offset, path(), size());
  }
  if (offset % align != 0 || length % align != 0 || reinterpret_cast<uintptr_t>(dst) % align != 0) {
    fail("read of {} bytes at offset {} of {}: offset, length and buffer must be multiples of {}",
         length, offset, path(), align);
  }
}

void print_notice_once(std::string_view key, const std::string& message) {
  static std::mutex mutex;
  static std::set<std::string, std::less<>> printed;
  std::lock_guard lock(mutex);
  if (!printed.insert(std::string(key)).second) return;
  std::fprintf(stderr, "flashslim: notice: %s\n", message.c_str());
}

std::unique_ptr<Storage> open_storage(const std::string& path, StorageKind kind,
                                      const StorageOptions& options) {
  switch (kind) {
    case StorageKind::WholeFile:
      return open_whole_file_storage(path, options);
    case StorageKind::Mmap:
      return open_mmap_storage(path, options);
    case StorageKind::Pread:
      return open_pread_storage(path, options);
    case StorageKind::UringDirect:
      return open_uring_direct_storage(path, options);
  }
  fail("open {}: invalid storage kind {}", path, static_cast<int>(kind));
}

}  // namespace flashslim::storage
