#pragma once
// Byte sizes as people write them on command lines and in configs: "1073741824",
// "512K", "1.5G", "64MiB", or a share of something else ("50%" of a model file).
// Suffixes are binary multiples (K = 1024 bytes), case-insensitive, with an optional
// trailing "B" or "iB".
#include <cstdint>
#include <optional>
#include <string_view>

namespace flashslim {

// A parsed size before it is resolved: either an absolute byte count or a percentage
// of a base that is known only later (e.g. the model file size).
struct SizeSpec {
  bool is_percent = false;
  uint64_t bytes = 0;  // when !is_percent
  double percent = 0;  // when is_percent, in (0, 100]

  // Bytes for this spec; percentages are taken of `base` and rounded down.
  uint64_t resolve(uint64_t base) const;
};

// Syntax only. Throws Error "'12Q': expected bytes with K/M/G suffix or a percentage".
SizeSpec parse_size_spec(std::string_view text);

// Parses and resolves in one go. A percentage needs `percent_base`; without one it is
// an error naming the text.
uint64_t parse_size(std::string_view text, std::optional<uint64_t> percent_base);

}  // namespace flashslim
