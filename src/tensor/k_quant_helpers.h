#pragma once
// Small pieces shared by the K-quant quantizers and kernels.
#include <bit>
#include <cstdint>

namespace flashslim::ref {

// Round to nearest, ties to even, as ggml's nearest_int: adding 1.5 * 2^23
// leaves the rounded integer in the low mantissa bits. Valid for |x| < 2^22.
inline int nearest_int(float x) {
  const float shifted = x + 12582912.0f;
  return static_cast<int>(std::bit_cast<uint32_t>(shifted) & 0x007fffffu) - 0x00400000;
}

// nearest_int(x) as a float, without the float -> int bit trick, so loops
// using it vectorize on plain SSE2 (no packed int32 min/max there).
inline float nearest_int_as_float(float x) { return (x + 12582912.0f) - 12582912.0f; }

// Q4_K/Q5_K pack 8 six-bit scales and 8 six-bit mins into 12 bytes: sub-blocks
// 0..3 use the low 6 bits of bytes 0..3 (scale) and 4..7 (min); sub-blocks
// 4..7 keep their low 4 bits in bytes 8..11 and their top 2 bits in the top
// bits of bytes 0..7.
struct ScaleMin {
  uint8_t scale;
  uint8_t min;
};

inline ScaleMin get_scale_min_k4(int j, const uint8_t* q) {
  if (j < 4) return {static_cast<uint8_t>(q[j] & 63), static_cast<uint8_t>(q[j + 4] & 63)};
  return {static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4)),
          static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4))};
}

// Q3_K's 16 signed 6-bit scales, stored +32: low 4 bits in the nibbles of
// bytes 0..7 (sub-blocks 0..7 low nibbles, 8..15 high nibbles), top 2 bits in
// bytes 8..11 (sub-block j at bits 2*(j/4) of byte 8 + j%4).
inline void unpack_q3_K_scales(const uint8_t packed[12], int8_t scales[16]) {
  for (int j = 0; j < 16; ++j) {
    const int low = j < 8 ? packed[j] & 0xF : packed[j - 8] >> 4;
    const int high = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
    scales[j] = static_cast<int8_t>((low | (high << 4)) - 32);
  }
}

}  // namespace flashslim::ref
