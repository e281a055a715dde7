#pragma once
// Which model file a profile or plan was made for: its size and a SHA-256 of
// its header and tensor index (bytes [0, data_offset)). That hash changes with
// any change of architecture, hyper-parameters, tensor names, types, shapes or
// offsets, yet costs one small read instead of hashing gigabytes of weights.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "gguf/gguf.h"
#include "planner/json_fields.h"

namespace flashslim::planner {

struct ModelIdentity {
  std::string file_name;  // base name, for people reading the JSON; not compared
  uint64_t file_size = 0;
  uint64_t data_offset = 0;
  std::string header_sha256;  // hex SHA-256 of bytes [0, data_offset)

  bool operator==(const ModelIdentity&) const = default;
};

// Reads and hashes the header of `file.path`. Error names the path.
ModelIdentity identify_model(const gguf::File& file);

// "" when `actual` is the model `expected` describes; otherwise one line
// saying what differs (size, header hash), for errors like "plan.json was
// made for another model: ...".
std::string describe_difference(const ModelIdentity& expected, const ModelIdentity& actual);

nlohmann::json to_json(const ModelIdentity& id);
ModelIdentity model_identity_from_json(const JsonFields& fields);

}  // namespace flashslim::planner
