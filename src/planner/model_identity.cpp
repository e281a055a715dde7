#include "planner/model_identity.h"

#include <filesystem>

#include "bench/sha256.h"
#include "core/error.h"
#include "storage/storage.h"

namespace flashslim::planner {

ModelIdentity identify_model(const gguf::File& file) {
  ModelIdentity id;
  id.file_name = std::filesystem::path(file.path).filename().string();
  id.file_size = file.file_size;
  id.data_offset = file.data_offset;
  const auto storage = storage::open_storage(file.path, storage::StorageKind::Pread);
  std::vector<uint8_t> header(file.data_offset);
  storage->read(0, header);
  id.header_sha256 = bench::sha256_hex(header);
  return id;
}

std::string describe_difference(const ModelIdentity& expected, const ModelIdentity& actual) {
  if (expected.file_size != actual.file_size)
    return fmt::format("file size {} bytes ({}) vs {} bytes ({})", expected.file_size,
                       expected.file_name, actual.file_size, actual.file_name);
  if (expected.data_offset != actual.data_offset || expected.header_sha256 != actual.header_sha256)
    return fmt::format("same size, but header/tensor index hash {} ({}) vs {} ({})",
                       expected.header_sha256.substr(0, 16), expected.file_name,
                       actual.header_sha256.substr(0, 16), actual.file_name);
  return "";
}

nlohmann::json to_json(const ModelIdentity& id) {
  return {{"file_name", id.file_name},
          {"file_size", id.file_size},
          {"data_offset", id.data_offset},
          {"header_sha256", id.header_sha256}};
}

ModelIdentity model_identity_from_json(const JsonFields& f) {
  ModelIdentity id;
  id.file_name = f.string("file_name");
  id.file_size = f.u64("file_size");
  id.data_offset = f.u64("data_offset");
  id.header_sha256 = f.string("header_sha256");
  if (id.header_sha256.size() != 64) f.fail_at("header_sha256", "expected 64 hex digits");
  return id;
}

}  // namespace flashslim::planner
