#pragma once
// IEEE binary16 ("half", ggml_fp16_t) and bfloat16 (ggml_bf16_t) conversions,
// bit-exact with ggml: float -> half rounds to nearest even (as F16C's
// vcvtps2ph with rounding mode 0), half -> float is exact (a 64K-entry table),
// float -> bf16 rounds to nearest even and quiets NaNs (ggml_compute_fp32_to_bf16).
#include <array>
#include <bit>
#include <cstdint>

namespace flashslim {

using f16_t = uint16_t;   // raw bits of an IEEE half
using bf16_t = uint16_t;  // raw bits of a bfloat16

// Exact half -> float without the table (used to build it, and in tests).
constexpr float fp16_to_fp32_compute(f16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  if (exp == 0) {
    // Zero or subnormal: mant * 2^-24, exact in float.
    const float mag = static_cast<float>(mant) * (1.0f / 16777216.0f);
    return sign ? -mag : mag;
  }
  if (exp == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));  // inf / NaN
  return std::bit_cast<float>(sign | ((exp + 112u) << 23) | (mant << 13));
}

namespace detail {
extern const std::array<float, 1 << 16> kFp16ToFp32Table;  // fp16.cpp
}

inline float fp16_to_fp32(f16_t h) { return detail::kFp16ToFp32Table[h]; }

// float -> half, round to nearest even; overflow gives inf, NaN gives a quiet
// NaN (sign kept, payload 0x200), as ggml's portable conversion.
constexpr f16_t fp32_to_fp16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t abs = x & 0x7fffffffu;
  if (abs > 0x7f800000u) return sign | 0x7e00u;  // NaN
  // 65520 (0x477ff000) is halfway between 65504 (max half) and 2^16: ties go
  // to the even mantissa, which is the overflow to inf.
  if (abs >= 0x477ff000u) return sign | 0x7c00u;
  const uint32_t exp = abs >> 23;
  if (exp < 113) {
    // Result is a half subnormal (or zero): round |f| * 2^24 to an integer.
    const uint32_t mant = (abs & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - exp;  // value * 2^24 = mant >> shift
    if (shift > 24) return sign;       // below 2^-25: rounds to zero
    uint32_t q = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1u))) ++q;
    return static_cast<f16_t>(sign | q);
  }
  const uint32_t mant = abs & 0x7fffffu;
  uint32_t q = ((exp - 112) << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (q & 1u))) ++q;  // carry may bump the exponent
  return static_cast<f16_t>(sign | q);
}

constexpr float bf16_to_fp32(bf16_t b) {
  return std::bit_cast<float>(static_cast<uint32_t>(b) << 16);
}

// float -> bf16, round to nearest even; NaN keeps its top bits and is quieted.
// Subnormals are rounded, not flushed (current ggml).
constexpr bf16_t fp32_to_bf16(float f) {
  const uint32_t u = std::bit_cast<uint32_t>(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<bf16_t>((u >> 16) | 64u);
  return static_cast<bf16_t>((u + (0x7fffu + ((u >> 16) & 1u))) >> 16);
}

}  // namespace flashslim
