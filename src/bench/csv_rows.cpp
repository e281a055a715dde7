#include "bench/csv_rows.h"

#include <charconv>
#include <fstream>
#include <string>

#include "core/error.h"

namespace flashslim::bench {
namespace {

std::vector<std::string_view> split_commas(std::string_view line) {
  std::vector<std::string_view> fields;
  for (size_t start = 0;;) {
    const size_t comma = line.find(',', start);
    fields.push_back(line.substr(start, comma - start));
    if (comma == std::string_view::npos) return fields;
    start = comma + 1;
  }
}

// Parses all of `field` as a T with std::from_chars, or throws naming where and `what`.
template <typename T>
T parse_field(std::string_view field, const std::filesystem::path& path, size_t line_number,
              std::string_view column, std::string_view what) {
  T value{};
  const auto r = std::from_chars(field.data(), field.data() + field.size(), value);
  if (r.ec != std::errc() || r.ptr != field.data() + field.size())
    fail("{}:{}: {} '{}' is not {}", path.string(), line_number, column, field, what);
  return value;
}

}  // namespace

void for_each_csv_row(const std::filesystem::path& path, std::string_view header,
                      const std::function<void(const std::vector<std::string_view>& fields,
                                               size_t line_number)>& row) {
  std::ifstream in(path);
  if (!in) fail("cannot open {}", path.string());
  std::string line;
  if (!std::getline(in, line) || line != header)
    fail("{}:1: expected the header '{}'", path.string(), header);
  const size_t columns = split_commas(header).size();
  for (size_t line_number = 2; std::getline(in, line); ++line_number) {
    if (line.empty()) continue;
    const std::vector<std::string_view> fields = split_commas(line);
    if (fields.size() != columns)
      fail("{}:{}: expected {} comma-separated fields, got {}", path.string(), line_number, columns,
           fields.size());
    row(fields, line_number);
  }
}

uint64_t csv_u64(std::string_view field, const std::filesystem::path& path, size_t line_number,
                 std::string_view column) {
  return parse_field<uint64_t>(field, path, line_number, column, "an unsigned integer");
}

double csv_double(std::string_view field, const std::filesystem::path& path, size_t line_number,
                  std::string_view column) {
  return parse_field<double>(field, path, line_number, column, "a number");
}

}  // namespace flashslim::bench
