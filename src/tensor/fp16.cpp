#include "tensor/fp16.h"

namespace flashslim::detail {

namespace {
constexpr std::array<float, 1 << 16> make_fp16_table() {
  std::array<float, 1 << 16> table{};
  for (uint32_t h = 0; h < (1u << 16); ++h) table[h] = fp16_to_fp32_compute(static_cast<f16_t>(h));
  return table;
}
}  // namespace

// constinit: built at compile time, valid before any static initializer runs.
constinit const std::array<float, 1 << 16> kFp16ToFp32Table = make_fp16_table();

}  // namespace flashslim::detail
