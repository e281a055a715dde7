// GGUF metadata: an ordered key/value list with typed, converting getters.
#include <limits>

#include "core/error.h"
#include "gguf/gguf.h"

namespace flashslim::gguf {

const char* value_type_name(ValueType t) {
  switch (t) {
    case ValueType::UINT8:
      return "uint8";
    case ValueType::INT8:
      return "int8";
    case ValueType::UINT16:
      return "uint16";
    case ValueType::INT16:
      return "int16";
    case ValueType::UINT32:
      return "uint32";
    case ValueType::INT32:
      return "int32";
    case ValueType::FLOAT32:
      return "float32";
    case ValueType::BOOL:
      return "bool";
    case ValueType::STRING:
      return "string";
    case ValueType::ARRAY:
      return "array";
    case ValueType::UINT64:
      return "uint64";
    case ValueType::INT64:
      return "int64";
    case ValueType::FLOAT64:
      return "float64";
  }
  return "unknown";
}

bool is_unsigned_type(ValueType t) {
  return t == ValueType::UINT8 || t == ValueType::UINT16 || t == ValueType::UINT32 ||
         t == ValueType::UINT64;
}

bool is_signed_type(ValueType t) {
  return t == ValueType::INT8 || t == ValueType::INT16 || t == ValueType::INT32 ||
         t == ValueType::INT64;
}

bool is_float_type(ValueType t) { return t == ValueType::FLOAT32 || t == ValueType::FLOAT64; }

void Metadata::add(std::string key, Value v) {
  if (index_.contains(key)) fail("duplicate metadata key '{}'", key);
  index_.emplace(key, entries_.size());
  entries_.emplace_back(std::move(key), std::move(v));
}

void Metadata::set(std::string key, Value v) {
  auto it = index_.find(key);
  if (it == index_.end()) return add(std::move(key), std::move(v));
  entries_[it->second].second = std::move(v);
}

const Value* Metadata::find(std::string_view key) const {
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : &entries_[it->second].second;
}

namespace {

[[noreturn]] void wrong_type(std::string_view key, const Value& v, const char* expected) {
  fail("metadata key '{}' has type {}, expected {}", key, value_type_name(v.type), expected);
}

}  // namespace

std::optional<uint64_t> Metadata::get_uint(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  if (is_unsigned_type(v->type)) return v->u;
  if (is_signed_type(v->type) && v->i >= 0) return static_cast<uint64_t>(v->i);
  if (is_signed_type(v->type)) fail("metadata key '{}' is negative ({})", key, v->i);
  wrong_type(key, *v, "an unsigned integer");
}

std::optional<int64_t> Metadata::get_int(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  if (is_signed_type(v->type)) return v->i;
  if (is_unsigned_type(v->type) && v->u <= uint64_t(std::numeric_limits<int64_t>::max()))
    return static_cast<int64_t>(v->u);
  if (is_unsigned_type(v->type)) fail("metadata key '{}' value {} overflows int64", key, v->u);
  wrong_type(key, *v, "an integer");
}

std::optional<double> Metadata::get_float(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  if (is_float_type(v->type)) return v->f;
  if (is_unsigned_type(v->type)) return static_cast<double>(v->u);
  if (is_signed_type(v->type)) return static_cast<double>(v->i);
  wrong_type(key, *v, "a number");
}

std::optional<bool> Metadata::get_bool(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != ValueType::BOOL) wrong_type(key, *v, "bool");
  return v->u != 0;
}

std::optional<std::string> Metadata::get_string(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != ValueType::STRING) wrong_type(key, *v, "string");
  return v->s;
}

const std::vector<std::string>* Metadata::get_string_array(std::string_view key) const {
  const Value* v = find(key);
  if (!v || v->type != ValueType::ARRAY || v->elem_type != ValueType::STRING) return nullptr;
  return &v->strings;
}

const std::vector<double>* Metadata::get_float_array(std::string_view key) const {
  const Value* v = find(key);
  if (!v || v->type != ValueType::ARRAY || !is_float_type(v->elem_type)) return nullptr;
  return &v->floats;
}

const std::vector<int64_t>* Metadata::get_int_array(std::string_view key) const {
  const Value* v = find(key);
  if (!v || v->type != ValueType::ARRAY || !is_signed_type(v->elem_type)) return nullptr;
  return &v->ints;
}

const TensorInfo* File::find_tensor(std::string_view name) const {
  for (const TensorInfo& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

std::string File::architecture() const {
  std::optional<std::string> arch = meta.get_string("general.architecture");
  if (!arch) fail("{}: metadata key 'general.architecture' is missing", path);
  return *arch;
}

}  // namespace flashslim::gguf
