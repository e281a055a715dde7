#pragma once
// GGUF v2/v3: a validated, read-only description of a model file (metadata and
// tensor index; tensor bytes stay on disk), and a streaming writer.
// Every parse failure throws flashslim::Error naming the field and byte offset.
#include <array>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tensor/ggml_type.h"

namespace flashslim::gguf {

enum class ValueType : uint32_t {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
};
const char* value_type_name(ValueType t);
bool is_unsigned_type(ValueType t);  // UINT8..UINT64 (not BOOL)
bool is_signed_type(ValueType t);    // INT8..INT64
bool is_float_type(ValueType t);     // FLOAT32, FLOAT64

// One metadata value. Scalars use the field matching their kind; arrays keep
// elements in the vector matching elem_type's kind (bools and all integers in
// `ints`/`uints`, floats in `floats`, strings in `strings`).
struct Value {
  ValueType type = ValueType::UINT8;
  ValueType elem_type = ValueType::UINT8;  // for ARRAY
  uint64_t u = 0;                          // UINT*, BOOL
  int64_t i = 0;                           // INT*
  double f = 0;                            // FLOAT*
  std::string s;                           // STRING
  std::vector<uint64_t> uints;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string> strings;
  uint64_t array_size = 0;
};

class Metadata {
 public:
  void add(std::string key, Value v);  // Error if the key exists
  void set(std::string key, Value v);  // replaces an existing key's value in place
  const Value* find(std::string_view key) const;
  // Typed getters: nullopt when absent; throw Error when present with a
  // type that cannot convert (e.g. a string where a number is expected).
  std::optional<uint64_t> get_uint(std::string_view key) const;
  std::optional<int64_t> get_int(std::string_view key) const;
  std::optional<double> get_float(std::string_view key) const;
  std::optional<bool> get_bool(std::string_view key) const;
  std::optional<std::string> get_string(std::string_view key) const;
  // Array getters return null when absent or of another element kind.
  const std::vector<std::string>* get_string_array(std::string_view key) const;
  const std::vector<double>* get_float_array(std::string_view key) const;
  const std::vector<int64_t>* get_int_array(std::string_view key) const;
  const std::vector<std::pair<std::string, Value>>& entries() const { return entries_; }

 private:
  std::vector<std::pair<std::string, Value>> entries_;
  std::map<std::string, size_t, std::less<>> index_;
};

struct TensorInfo {
  std::string name;
  GgmlType type = GgmlType::F32;
  uint32_t n_dims = 0;
  std::array<int64_t, 4> ne = {1, 1, 1, 1};  // ne[0] = elements per row
  uint64_t offset = 0;                       // absolute byte offset of the data in the file
  uint64_t nbytes = 0;                       // bytes of data
  int64_t cols() const { return ne[0]; }
  int64_t rows() const { return ne[1] * ne[2] * ne[3]; }
  size_t row_bytes() const { return nbytes / static_cast<uint64_t>(rows()); }
};

struct File {
  std::string path;
  uint32_t version = 0;
  uint64_t file_size = 0;
  uint64_t alignment = 32;
  uint64_t data_offset = 0;  // start of the tensor data section (<= file_size)
  Metadata meta;
  std::vector<TensorInfo> tensors;
  const TensorInfo* find_tensor(std::string_view name) const;
  std::string architecture() const;  // general.architecture, Error if absent
};

// Reads and validates the header and tensor index of `path` (tensor data is
// not read). Bounded memory and time on hostile input.
File read_file(const std::string& path);
// The same on bytes already in memory (fuzzing, tests); `name` appears in errors.
File parse_buffer(std::span<const uint8_t> bytes, const std::string& name);

// Streams a GGUF file: set metadata and the tensor index first, then
// write_header(), then each tensor's data in index order (possibly in several
// pieces; a piece may not run past its tensor), then finish(). Memory stays
// O(header) regardless of file size. Data goes to "<path>.partial", renamed to
// `path` by finish(); a Writer destroyed before finish() removes it. A
// non-default alignment is written as general.alignment (do not set it).
// Not thread-safe.
class Writer {
 public:
  explicit Writer(std::string path, uint32_t version = 3, uint64_t alignment = 32);
  ~Writer();
  void set(std::string key, Value v);
  void set_uint32(std::string key, uint32_t v);
  void set_float32(std::string key, float v);
  void set_bool(std::string key, bool v);
  void set_string(std::string key, std::string v);
  void set_string_array(std::string key, std::vector<std::string> v);
  void set_float32_array(std::string key, std::vector<float> v);
  void set_int32_array(std::string key, std::vector<int32_t> v);
  // ne as in ggml (ne[0] = row length); returns the tensor's index.
  size_t add_tensor(std::string name, GgmlType type, std::vector<int64_t> ne);
  void write_header();
  void write_data(std::span<const uint8_t> bytes);  // appends to the current tensor
  void finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flashslim::gguf
