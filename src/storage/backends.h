#pragma once
// Internal to src/storage: constructors of the backends behind open_storage().
#include <memory>
#include <string>
#include <string_view>

#include "storage/storage.h"

namespace flashslim::storage {

std::unique_ptr<Storage> open_whole_file_storage(const std::string& path,
                                                 const StorageOptions& options);
std::unique_ptr<Storage> open_mmap_storage(const std::string& path, const StorageOptions& options);
std::unique_ptr<Storage> open_pread_storage(const std::string& path, const StorageOptions& options);
std::unique_ptr<Storage> open_uring_direct_storage(const std::string& path,
                                                   const StorageOptions& options);

// Prints "flashslim: notice: <message>" to stderr the first time `key` is
// seen in this process, so a degraded backend is reported once, not per file.
void print_notice_once(std::string_view key, const std::string& message);

}  // namespace flashslim::storage
