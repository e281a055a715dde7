// The 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and the Q8_1
// activation type): ggml's reference quantizers, dequantizers and generic dot
// products, with the same casts and order of float operations.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "tensor/block_formats.h"
#include "tensor/reference_kernels.h"
#include "tensor/x86_float_order.h"

namespace flashslim::ref {

namespace {

// The value of largest magnitude, sign kept (ties keep the first).
float signed_absmax(const float* x, int n) {
  float amax = 0.0f;
  float max = 0.0f;
  for (int j = 0; j < n; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

float absmax(const float* x, int n) {
  float amax = 0.0f;
  for (int j = 0; j < n; ++j) amax = std::max(amax, std::fabs(x[j]));
  return amax;
}

uint32_t load_qh(const uint8_t qh[4]) {
  uint32_t v;
  std::memcpy(&v, qh, sizeof(v));
  return v;
}

// Fifth bit of element j (< 16) and of element j + 16, moved to bit 4.
uint8_t high_bit_lo(uint32_t qh, int j) { return static_cast<uint8_t>(((qh >> j) << 4) & 0x10); }
uint8_t high_bit_hi(uint32_t qh, int j) { return static_cast<uint8_t>((qh >> (j + 12)) & 0x10); }

}  // namespace

void dequantize_q4_0(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const block_q4_0*>(src);
  for (int64_t i = 0; i < n / QK4_0; ++i) {
    const float d = fp16_to_fp32(x[i].d);
    for (int j = 0; j < QK4_0 / 2; ++j) {
      dst[i * QK4_0 + j] = static_cast<float>((x[i].qs[j] & 0x0F) - 8) * d;
      dst[i * QK4_0 + j + QK4_0 / 2] = static_cast<float>((x[i].qs[j] >> 4) - 8) * d;
    }
  }
}

void dequantize_q4_1(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const block_q4_1*>(src);
  for (int64_t i = 0; i < n / QK4_1; ++i) {
    const float d = fp16_to_fp32(x[i].d);
    const float m = fp16_to_fp32(x[i].m);
    for (int j = 0; j < QK4_1 / 2; ++j) {
      dst[i * QK4_1 + j] = static_cast<float>(x[i].qs[j] & 0x0F) * d + m;
      dst[i * QK4_1 + j + QK4_1 / 2] = static_cast<float>(x[i].qs[j] >> 4) * d + m;
    }
  }
}

void dequantize_q5_0(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const block_q5_0*>(src);
  for (int64_t i = 0; i < n / QK5_0; ++i) {
    const float d = fp16_to_fp32(x[i].d);
    const uint32_t qh = load_qh(x[i].qh);
    for (int j = 0; j < QK5_0 / 2; ++j) {
      const int x0 = ((x[i].qs[j] & 0x0F) | high_bit_lo(qh, j)) - 16;
      const int x1 = ((x[i].qs[j] >> 4) | high_bit_hi(qh, j)) - 16;
      dst[i * QK5_0 + j] = static_cast<float>(x0) * d;
      dst[i * QK5_0 + j + QK5_0 / 2] = static_cast<float>(x1) * d;
    }
  }
}

void dequantize_q5_1(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const block_q5_1*>(src);
  for (int64_t i = 0; i < n / QK5_1; ++i) {
    const float d = fp16_to_fp32(x[i].d);
    const float m = fp16_to_fp32(x[i].m);
    const uint32_t qh = load_qh(x[i].qh);
    for (int j = 0; j < QK5_1 / 2; ++j) {
      const int x0 = (x[i].qs[j] & 0x0F) | high_bit_lo(qh, j);
      const int x1 = (x[i].qs[j] >> 4) | high_bit_hi(qh, j);
      dst[i * QK5_1 + j] = static_cast<float>(x0) * d + m;
      dst[i * QK5_1 + j + QK5_1 / 2] = static_cast<float>(x1) * d + m;
    }
  }
}

void dequantize_q8_0(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const block_q8_0*>(src);
  for (int64_t i = 0; i < n / QK8_0; ++i) {
    const float d = fp16_to_fp32(x[i].d);
    for (int j = 0; j < QK8_0; ++j) dst[i * QK8_0 + j] = static_cast<float>(x[i].qs[j]) * d;
  }
}

void dequantize_q8_1(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const block_q8_1*>(src);
  for (int64_t i = 0; i < n / QK8_1; ++i) {
    const float d = fp16_to_fp32(x[i].d);
    for (int j = 0; j < QK8_1; ++j) dst[i * QK8_1 + j] = static_cast<float>(x[i].qs[j]) * d;
  }
}

// d = max / -8 maps the signed extreme onto level 0 exactly; levels are
// truncations of x/d + 8.5 (i.e. round half up), capped at 15.
void quantize_q4_0(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<block_q4_0*>(dst);
  for (int64_t i = 0; i < n / QK4_0; ++i) {
    const float* x = src + i * QK4_0;
    const float d = signed_absmax(x, QK4_0) / -8;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    for (int j = 0; j < QK4_0 / 2; ++j) {
      const auto q0 =
          static_cast<uint8_t>(std::min<int>(15, static_cast<int8_t>(x[j] * id + 8.5f)));
      const auto q1 = static_cast<uint8_t>(
          std::min<int>(15, static_cast<int8_t>(x[j + QK4_0 / 2] * id + 8.5f)));
      y[i].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

void quantize_q4_1(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<block_q4_1*>(dst);
  for (int64_t i = 0; i < n / QK4_1; ++i) {
    const float* x = src + i * QK4_1;
    float min = FLT_MAX;
    float max = -FLT_MAX;
    for (int j = 0; j < QK4_1; ++j) {
      if (x[j] < min) min = x[j];
      if (x[j] > max) max = x[j];
    }
    const float d = (max - min) / 15;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    y[i].m = fp32_to_fp16(min);
    for (int j = 0; j < QK4_1 / 2; ++j) {
      const float x0 = (x[j] - min) * id;
      const float x1 = (x[j + QK4_1 / 2] - min) * id;
      const auto q0 = static_cast<uint8_t>(std::min<int>(15, static_cast<int8_t>(x0 + 0.5f)));
      const auto q1 = static_cast<uint8_t>(std::min<int>(15, static_cast<int8_t>(x1 + 0.5f)));
      y[i].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

void quantize_q5_0(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<block_q5_0*>(dst);
  for (int64_t i = 0; i < n / QK5_0; ++i) {
    const float* x = src + i * QK5_0;
    const float d = signed_absmax(x, QK5_0) / -16;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    uint32_t qh = 0;
    for (int j = 0; j < QK5_0 / 2; ++j) {
      const auto q0 =
          static_cast<uint8_t>(std::min<int>(31, static_cast<int8_t>(x[j] * id + 16.5f)));
      const auto q1 = static_cast<uint8_t>(
          std::min<int>(31, static_cast<int8_t>(x[j + QK5_0 / 2] * id + 16.5f)));
      y[i].qs[j] = static_cast<uint8_t>((q0 & 0x0F) | ((q1 & 0x0F) << 4));
      qh |= ((q0 & 0x10u) >> 4) << j;
      qh |= ((q1 & 0x10u) >> 4) << (j + QK5_0 / 2);
    }
    std::memcpy(y[i].qh, &qh, sizeof(qh));
  }
}

void quantize_q5_1(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<block_q5_1*>(dst);
  for (int64_t i = 0; i < n / QK5_1; ++i) {
    const float* x = src + i * QK5_1;
    float min = FLT_MAX;
    float max = -FLT_MAX;
    for (int j = 0; j < QK5_1; ++j) {
      if (x[j] < min) min = x[j];
      if (x[j] > max) max = x[j];
    }
    const float d = (max - min) / 31;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    y[i].m = fp32_to_fp16(min);
    uint32_t qh = 0;
    for (int j = 0; j < QK5_1 / 2; ++j) {
      const auto q0 = static_cast<uint8_t>((x[j] - min) * id + 0.5f);
      const auto q1 = static_cast<uint8_t>((x[j + QK5_1 / 2] - min) * id + 0.5f);
      y[i].qs[j] = static_cast<uint8_t>((q0 & 0x0F) | ((q1 & 0x0F) << 4));
      qh |= ((q0 & 0x10u) >> 4) << j;
      qh |= ((q1 & 0x10u) >> 4) << (j + QK5_1 / 2);
    }
    std::memcpy(y[i].qh, &qh, sizeof(qh));
  }
}

// ggml's reference Q8_0 quantizer (as llama-quantize writes Q8_0 weights):
// d = amax/127, q = roundf(x / d) (ties away from zero), d stored as f16.
void quantize_q8_0(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<block_q8_0*>(dst);
  for (int64_t i = 0; i < n / QK8_0; ++i) {
    const float* x = src + i * QK8_0;
    const float d = absmax(x, QK8_0) / 127;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    for (int j = 0; j < QK8_0; ++j) y[i].qs[j] = static_cast<int8_t>(std::round(x[j] * id));
  }
}

// Activation rounding as ggml's x86 SIMD quantize_row_q8_0/q8_1 (the build
// llama.cpp's reference outputs come from): id = 127/amax and round to nearest
// even, unlike the scalar reference (1/d, ties away from zero). The two differ
// only at rounding boundaries, but random-weight models amplify such flips.
namespace {
template <typename Block>
float quantize_block_for_activation(const float* x, Block& y) {
  const float amax = absmax(x, QK8_0);
  const float d = amax / 127;
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  y.d = fp32_to_fp16(d);
  int sum = 0;
  for (int j = 0; j < QK8_0; ++j) {
    y.qs[j] = static_cast<int8_t>(std::nearbyint(x[j] * id));
    sum += y.qs[j];
  }
  return static_cast<float>(sum) * d;
}
}  // namespace

void quantize_q8_0_activation(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<block_q8_0*>(dst);
  for (int64_t i = 0; i < n / QK8_0; ++i) quantize_block_for_activation(src + i * QK8_0, y[i]);
}

// Q8_1 exists only as the activation type of Q4_1/Q5_1 weights: as q8_0, plus
// s = d * sum(qs) (f32 d, before its rounding to f16).
void quantize_q8_1(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<block_q8_1*>(dst);
  for (int64_t i = 0; i < n / QK8_1; ++i)
    y[i].s = fp32_to_fp16(quantize_block_for_activation(src + i * QK8_1, y[i]));
}

// The dot products round as ggml's AVX2 vec_dot and llamafile's tinyBLAS
// (prompt batches) do on x86; both give int32 lane m the products of
// elements 4m..4m+3 of a block, scaled into 8 float lanes by FMA with
// d_w * d_a (tensor/x86_float_order.h). Q4_1/Q5_1 add m_w * s_a to one float
// per block, with one rounding.
namespace {

// levels(block, j) is the signed (or, with a min, unsigned) level of element j.
template <typename W, typename A, typename Levels>
float dot_blocks(int64_t n, const void* w, const void* act, Levels levels) {
  const auto* x = static_cast<const W*>(w);
  const auto* y = static_cast<const A*>(act);
  float acc[8] = {};
  float mins = 0.0f;
  for (int64_t i = 0; i < n / 32; ++i) {
    int32_t lanes[8] = {};
    for (int j = 0; j < 32; ++j) lanes[j / 4] += levels(x[i], j) * y[i].qs[j];
    fma_lanes(acc, fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d), lanes);
    if constexpr (requires { x[i].m; })
      mins = std::fma(fp16_to_fp32(x[i].m), fp16_to_fp32(y[i].s), mins);
  }
  return hsum_lanes(acc) + mins;
}

// Low nibbles are elements 0..15 of a block, high nibbles 16..31.
int nibble(const uint8_t* qs, int j) { return j < 16 ? qs[j] & 0x0F : qs[j - 16] >> 4; }
// Bit j of qh is the fifth bit of element j.
int fifth_bit(const uint8_t* qh, int j) { return static_cast<int>((load_qh(qh) >> j) & 1) << 4; }

}  // namespace

void vec_dot_q4_0_q8_0(int64_t n, float* out, const void* w, const void* act) {
  *out = dot_blocks<block_q4_0, block_q8_0>(
      n, w, act, [](const block_q4_0& b, int j) { return nibble(b.qs, j) - 8; });
}

// llama.cpp's kernels for Q4_0 weights it repacked into 8-row interleaved
// blocks (ggml_gemv/gemm_q4_0_8x8_q8_0 on x86) keep one float per output:
// each block's exact integer sum, converted to float, is added by FMA with
// the rounded product d_w * d_a, block after block.
void vec_dot_q4_0_q8_0_repacked(int64_t n, float* out, const void* w, const void* act) {
  const auto* x = static_cast<const block_q4_0*>(w);
  const auto* y = static_cast<const block_q8_0*>(act);
  float acc = 0.0f;
  for (int64_t i = 0; i < n / 32; ++i) {
    int32_t sum = 0;
    for (int j = 0; j < 32; ++j) sum += (nibble(x[i].qs, j) - 8) * y[i].qs[j];
    acc = std::fma(static_cast<float>(sum), fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d), acc);
  }
  *out = acc;
}

void vec_dot_q4_1_q8_1(int64_t n, float* out, const void* w, const void* act) {
  *out = dot_blocks<block_q4_1, block_q8_1>(
      n, w, act, [](const block_q4_1& b, int j) { return nibble(b.qs, j); });
}

void vec_dot_q5_0_q8_0(int64_t n, float* out, const void* w, const void* act) {
  *out = dot_blocks<block_q5_0, block_q8_0>(n, w, act, [](const block_q5_0& b, int j) {
    return (nibble(b.qs, j) | fifth_bit(b.qh, j)) - 16;
  });
}

void vec_dot_q5_1_q8_1(int64_t n, float* out, const void* w, const void* act) {
  *out = dot_blocks<block_q5_1, block_q8_1>(
      n, w, act, [](const block_q5_1& b, int j) { return nibble(b.qs, j) | fifth_bit(b.qh, j); });
}

void vec_dot_q8_0_q8_0(int64_t n, float* out, const void* w, const void* act) {
  *out = dot_blocks<block_q8_0, block_q8_0>(
      n, w, act, [](const block_q8_0& b, int j) { return static_cast<int>(b.qs[j]); });
}

}  // namespace flashslim::ref
