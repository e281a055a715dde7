#pragma once
// Schema checks for the planner's JSON files (profile.json, plan.json): typed
// access to a required key, where a missing key or a value of the wrong type
// is an Error naming the file and the key's full path ("plan.json: key
// 'phases.decode.chunks[3].slot': expected an unsigned integer, got string").
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace flashslim::planner {

// A JSON object being read, with the file name and the key path to it, so
// that every error can say exactly where it is.
class JsonFields {
 public:
  JsonFields(const nlohmann::json& object, std::string file, std::string path = "");

  const nlohmann::json& json() const { return object_; }
  bool has(std::string_view key) const;

  uint64_t u64(std::string_view key) const;
  int64_t i64(std::string_view key) const;
  double number(std::string_view key) const;
  bool boolean(std::string_view key) const;
  std::string string(std::string_view key) const;
  JsonFields object(std::string_view key) const;
  // The array under `key`; elements are read with element().
  const nlohmann::json& array(std::string_view key) const;
  // Element `index` of the array under `key`, which must be an object.
  JsonFields element(std::string_view key, size_t index) const;
  // Element `index` of the array under `key`, which must be a number.
  double number_at(std::string_view key, size_t index) const;

  // Error naming this file and `key` under this object's path.
  [[noreturn]] void fail_at(std::string_view key, const std::string& what) const;

 private:
  const nlohmann::json& get(std::string_view key) const;
  std::string key_path(std::string_view key) const;

  const nlohmann::json& object_;
  std::string file_;
  std::string path_;
};

// Parses the file as JSON; Error naming the file and byte on failure.
nlohmann::json load_json_file(const std::string& path);
// Error naming the file unless the object's "format_version" is `version`.
void check_format_version(const JsonFields& top, int64_t version);
// Writes `value` indented, with a trailing newline; Error naming the path.
void save_json(const std::string& path, const nlohmann::json& value);

}  // namespace flashslim::planner
