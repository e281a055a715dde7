#pragma once
// Float orders of llama.cpp's x86 (AVX2 / AVX-512) kernels, which its
// reference outputs come from, for the reference kernels: quantized dot
// products scale integer lane sums into 8 float lanes with one rounding each
// (FMA) and sum the lanes as hsum_float_8; 16-lane AVX-512 sums reduce as
// _mm512_reduce_add_ps.
#include <cmath>
#include <cstdint>

namespace flashslim::ref {

// acc[m] += d * lanes[m], one rounding per lane.
inline void fma_lanes(float acc[8], float d, const int32_t lanes[8]) {
  for (int m = 0; m < 8; ++m) acc[m] = std::fma(d, static_cast<float>(lanes[m]), acc[m]);
}

// hsum_float_8: the two 128-bit halves added, then (l0 + l2) + (l1 + l3).
inline float hsum_lanes(const float acc[8]) {
  float r[4];
  for (int k = 0; k < 4; ++k) r[k] = acc[k + 4] + acc[k];
  return (r[0] + r[2]) + (r[1] + r[3]);
}

// _mm512_reduce_add_ps of 16 floats: halves, quarters, then pairs.
inline float reduce_add16(const float v[16]) {
  float h[8], q[4];
  for (int k = 0; k < 8; ++k) h[k] = v[k] + v[k + 8];
  for (int k = 0; k < 4; ++k) q[k] = h[k] + h[k + 4];
  return (q[0] + q[2]) + (q[1] + q[3]);
}

}  // namespace flashslim::ref
