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
  uint64_t value = 0;
  const auto r = std::from_chars(field.data(), field.data() + field.size(), value);
  if (r.ec != std::errc() || r.ptr != field.data() + field.size())
    fail("{}:{}: {} '{}' is not an unsigned integer", path.string(), line_number, column, field);
  return value;
}

}  // namespace flashslim::bench
