#include "planner/json_fields.h"

#include <fstream>

#include "core/error.h"

namespace flashslim::planner {

namespace {

const char* type_name(const nlohmann::json& value) { return value.type_name(); }

}  // namespace

JsonFields::JsonFields(const nlohmann::json& object, std::string file, std::string path)
    : object_(object), file_(std::move(file)), path_(std::move(path)) {
  if (!object_.is_object())
    fail("{}: {}: expected an object, got {}", file_,
         path_.empty() ? "top level" : "key '" + path_ + "'", type_name(object_));
}

bool JsonFields::has(std::string_view key) const { return object_.contains(key); }

std::string JsonFields::key_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

void JsonFields::fail_at(std::string_view key, const std::string& what) const {
  fail("{}: key '{}': {}", file_, key_path(key), what);
}

const nlohmann::json& JsonFields::get(std::string_view key) const {
  const auto it = object_.find(key);
  if (it == object_.end()) fail_at(key, "missing");
  return *it;
}

uint64_t JsonFields::u64(std::string_view key) const {
  const auto& v = get(key);
  if (!v.is_number_unsigned())
    fail_at(key, fmt::format("expected an unsigned integer, got {}", v.dump()));
  return v.get<uint64_t>();
}

int64_t JsonFields::i64(std::string_view key) const {
  const auto& v = get(key);
  if (!v.is_number_integer()) fail_at(key, fmt::format("expected an integer, got {}", v.dump()));
  return v.get<int64_t>();
}

double JsonFields::number(std::string_view key) const {
  const auto& v = get(key);
  if (!v.is_number()) fail_at(key, fmt::format("expected a number, got {}", type_name(v)));
  return v.get<double>();
}

bool JsonFields::boolean(std::string_view key) const {
  const auto& v = get(key);
  if (!v.is_boolean()) fail_at(key, fmt::format("expected true or false, got {}", type_name(v)));
  return v.get<bool>();
}

std::string JsonFields::string(std::string_view key) const {
  const auto& v = get(key);
  if (!v.is_string()) fail_at(key, fmt::format("expected a string, got {}", type_name(v)));
  return v.get<std::string>();
}

JsonFields JsonFields::object(std::string_view key) const {
  const auto& v = get(key);
  if (!v.is_object()) fail_at(key, fmt::format("expected an object, got {}", type_name(v)));
  return JsonFields(v, file_, key_path(key));
}

const nlohmann::json& JsonFields::array(std::string_view key) const {
  const auto& v = get(key);
  if (!v.is_array()) fail_at(key, fmt::format("expected an array, got {}", type_name(v)));
  return v;
}

JsonFields JsonFields::element(std::string_view key, size_t index) const {
  const auto& a = array(key);
  const std::string at = fmt::format("{}[{}]", key, index);
  if (index >= a.size()) fail_at(at, "missing");
  if (!a[index].is_object())
    fail_at(at, fmt::format("expected an object, got {}", type_name(a[index])));
  return JsonFields(a[index], file_, key_path(at));
}

double JsonFields::number_at(std::string_view key, size_t index) const {
  const auto& a = array(key);
  const std::string at = fmt::format("{}[{}]", key, index);
  if (index >= a.size()) fail_at(at, "missing");
  if (!a[index].is_number())
    fail_at(at, fmt::format("expected a number, got {}", type_name(a[index])));
  return a[index].get<double>();
}

nlohmann::json load_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail("{}: cannot open the file", path);
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    fail("{}: not valid JSON (byte {}): {}", path, e.byte, e.what());
  }
  return value;
}

void check_format_version(const JsonFields& top, int64_t version) {
  const int64_t found = top.i64("format_version");
  if (found != version)
    top.fail_at("format_version",
                fmt::format("version {} is not supported (this build reads {})", found, version));
}

void save_json(const std::string& path, const nlohmann::json& value) {
  std::ofstream out(path);
  out << value.dump(1) << '\n';
  if (!out) fail("{}: cannot write the file", path);
}

}  // namespace flashslim::planner
