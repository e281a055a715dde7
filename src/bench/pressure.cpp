#include "bench/pressure.h"

#include <charconv>
#include <string>

#include "bench/kernel_file.h"
#include "core/error.h"

namespace flashslim::bench {
namespace {

// "avg10=0.01" → 0.01, looked up by field name within one line.
template <typename T>
T field(std::string_view line, std::string_view name) {
  const std::string key = std::string(name) + "=";
  const size_t at = line.find(key);
  if (at == std::string_view::npos) fail("pressure line '{}' has no {}", line, name);
  const char* begin = line.data() + at + key.size();
  const char* end = line.data() + line.size();
  T value{};
  const auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc()) fail("pressure line '{}': bad {}", line, name);
  return value;
}

PressureLine parse_line(std::string_view line) {
  return {field<double>(line, "avg10"), field<double>(line, "avg60"), field<double>(line, "avg300"),
          field<uint64_t>(line, "total")};
}

}  // namespace

Pressure parse_pressure(std::string_view text) {
  Pressure pressure;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (line.starts_with("some ")) pressure.some = parse_line(line);
    if (line.starts_with("full ")) pressure.full = parse_line(line);
  }
  return pressure;
}

std::optional<Pressure> read_pressure(std::string_view resource) {
  const std::optional<std::string> text =
      try_read_kernel_file("/proc/pressure/" + std::string(resource));
  if (!text) return std::nullopt;
  return parse_pressure(*text);
}

}  // namespace flashslim::bench
