#pragma once
// Reading the harness's own CSV files (threads.csv, disk.csv): a fixed header line, then
// rows of comma-separated fields without quoting.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string_view>
#include <vector>

namespace flashslim::bench {

// Calls `row` with the fields and line number of each non-empty line after the header.
// Throws Error naming the file and line when it cannot be opened, the header differs,
// or a row has a field count other than the header's.
void for_each_csv_row(const std::filesystem::path& path, std::string_view header,
                      const std::function<void(const std::vector<std::string_view>& fields,
                                               size_t line_number)>& row);

// A field that must be an unsigned decimal; throws Error naming the file, line and column.
uint64_t csv_u64(std::string_view field, const std::filesystem::path& path, size_t line_number,
                 std::string_view column);
// A field that must be a decimal number; throws Error naming the file, line and column.
double csv_double(std::string_view field, const std::filesystem::path& path, size_t line_number,
                  std::string_view column);

}  // namespace flashslim::bench
