#include "core/size.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <string>

#include "core/error.h"

namespace flashslim {
namespace {

[[noreturn]] void bad_size(std::string_view text) {
  fail("'{}': expected bytes with K/M/G suffix or a percentage", text);
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Multiplier for a (lower-cased) unit suffix, 0 when the suffix is not a unit.
uint64_t unit_multiplier(std::string_view unit) {
  if (unit.empty() || unit == "b") return 1;
  const char prefix = unit[0];
  const std::string_view rest = unit.substr(1);
  if (!(rest.empty() || rest == "b" || rest == "ib")) return 0;
  switch (prefix) {
    case 'k':
      return 1ull << 10;
    case 'm':
      return 1ull << 20;
    case 'g':
      return 1ull << 30;
    case 't':
      return 1ull << 40;
    default:
      return 0;
  }
}

}  // namespace

uint64_t SizeSpec::resolve(uint64_t base) const {
  if (!is_percent) return bytes;
  return static_cast<uint64_t>(std::floor(static_cast<long double>(base) * percent / 100.0L));
}

SizeSpec parse_size_spec(std::string_view text) {
  const std::string s = lower(text);
  size_t number_end = 0;
  while (number_end < s.size() &&
         (std::isdigit(static_cast<unsigned char>(s[number_end])) || s[number_end] == '.'))
    ++number_end;
  if (number_end == 0) bad_size(text);
  double value = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + number_end, value);
  if (ec != std::errc() || ptr != s.data() + number_end) bad_size(text);
  const std::string_view unit = std::string_view(s).substr(number_end);

  SizeSpec spec;
  if (unit == "%") {
    if (!(value > 0 && value <= 100)) fail("'{}': a percentage must be in (0, 100]", text);
    spec.is_percent = true;
    spec.percent = value;
    return spec;
  }
  const uint64_t multiplier = unit_multiplier(unit);
  if (multiplier == 0) bad_size(text);
  const long double bytes = static_cast<long double>(value) * multiplier;
  if (bytes >= 18446744073709551615.0L) fail("'{}': size does not fit in 64 bits", text);
  if (bytes != std::floor(bytes)) fail("'{}': size is not a whole number of bytes", text);
  spec.bytes = static_cast<uint64_t>(bytes);
  return spec;
}

uint64_t parse_size(std::string_view text, std::optional<uint64_t> percent_base) {
  const SizeSpec spec = parse_size_spec(text);
  if (spec.is_percent && !percent_base)
    fail("'{}': a percentage needs a base (e.g. the model file size)", text);
  return spec.resolve(percent_base.value_or(0));
}

}  // namespace flashslim
