// K-quants (256-element super-blocks): dequantizers, dot products with Q8_K
// activations, and the Q8_K activation quantizer. The dot products round as
// ggml's AVX2 kernels do (llama.cpp's x86 builds use those), float lane by
// float lane, so the outputs are bit-identical to llama.cpp's.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "tensor/block_formats.h"
#include "tensor/k_quant_helpers.h"
#include "tensor/reference_kernels.h"
#include "tensor/x86_float_order.h"

namespace flashslim::ref {

namespace {

// The float order of ggml's AVX2 K-quant dot products (the x86 build llama.cpp
// reference outputs come from): per super-block, int32 lane m (0..7) holds,
// over the eight 32-element chunks, elements 4m..4m+3 of the chunk times
// their level, activation and 16-element sub-block scale; then the lanes are
// scaled and summed as tensor/x86_float_order.h says.
void lane_sums(int32_t lanes[8], const int8_t* q8, const int8_t* levels, const int scale16[16]) {
  for (int m = 0; m < 8; ++m) lanes[m] = 0;
  for (int c = 0; c < 8; ++c) {
    for (int m = 0; m < 8; ++m) {
      const int first = 32 * c + 4 * m;
      int32_t sum = 0;
      for (int e = first; e < first + 4; ++e) sum += levels[e] * q8[e];
      lanes[m] += scale16[first / 16] * sum;
    }
  }
}

// Each unpack_* writes the 256 integer levels of one block in element order.

// Q2_K: 0..3. Per 128-element half, 32 bytes of qs; element 32*k + l of the
// half is bits 2k..2k+1 of byte l.
void unpack_q2_K_levels(const block_q2_K& b, int8_t levels[QK_K]) {
  for (int half = 0; half < 2; ++half) {
    for (int k = 0; k < 4; ++k) {
      for (int l = 0; l < 32; ++l) {
        levels[128 * half + 32 * k + l] = static_cast<int8_t>((b.qs[32 * half + l] >> (2 * k)) & 3);
      }
    }
  }
}

// Q3_K: -4..3. Low 2 bits as Q2_K; element j subtracts 4 unless bit j/32 of
// hmask[j%32] is set.
void unpack_q3_K_levels(const block_q3_K& b, int8_t levels[QK_K]) {
  for (int half = 0; half < 2; ++half) {
    for (int k = 0; k < 4; ++k) {
      const uint8_t mask = static_cast<uint8_t>(1u << (4 * half + k));
      for (int l = 0; l < 32; ++l) {
        const int low = (b.qs[32 * half + l] >> (2 * k)) & 3;
        levels[128 * half + 32 * k + l] = static_cast<int8_t>(low - (b.hmask[l] & mask ? 0 : 4));
      }
    }
  }
}

// Q4_K: 0..15. Per 64-element pair, 32 bytes of qs: low nibbles are elements
// 0..31 of the pair, high nibbles 32..63.
void unpack_q4_K_levels(const block_q4_K& b, int8_t levels[QK_K]) {
  for (int pair = 0; pair < 4; ++pair) {
    for (int l = 0; l < 32; ++l) {
      const uint8_t byte = b.qs[32 * pair + l];
      levels[64 * pair + l] = static_cast<int8_t>(byte & 0xF);
      levels[64 * pair + 32 + l] = static_cast<int8_t>(byte >> 4);
    }
  }
}

// Q5_K: 0..31. Nibbles as Q4_K; bit 2*pair of qh[l] adds 16 to the low-nibble
// element, bit 2*pair+1 to the high-nibble one.
void unpack_q5_K_levels(const block_q5_K& b, int8_t levels[QK_K]) {
  for (int pair = 0; pair < 4; ++pair) {
    for (int l = 0; l < 32; ++l) {
      const uint8_t byte = b.qs[32 * pair + l];
      const int high_lo = (b.qh[l] >> (2 * pair)) & 1;
      const int high_hi = (b.qh[l] >> (2 * pair + 1)) & 1;
      levels[64 * pair + l] = static_cast<int8_t>((byte & 0xF) + 16 * high_lo);
      levels[64 * pair + 32 + l] = static_cast<int8_t>((byte >> 4) + 16 * high_hi);
    }
  }
}

// Q6_K: -32..31. Per 128-element half, 64 bytes of ql and 32 of qh; quarter q
// (32 elements) takes its low 4 bits from ql[l + 32*(q%2)] (low nibble for
// q < 2, high nibble otherwise) and its top 2 bits from bits 2q of qh[l].
void unpack_q6_K_levels(const block_q6_K& b, int8_t levels[QK_K]) {
  for (int half = 0; half < 2; ++half) {
    const uint8_t* ql = b.ql + 64 * half;
    const uint8_t* qh = b.qh + 32 * half;
    for (int q = 0; q < 4; ++q) {
      for (int l = 0; l < 32; ++l) {
        const uint8_t byte = ql[l + 32 * (q % 2)];
        const int low = q < 2 ? byte & 0xF : byte >> 4;
        const int high = (qh[l] >> (2 * q)) & 3;
        levels[128 * half + 32 * q + l] = static_cast<int8_t>((low | (high << 4)) - 32);
      }
    }
  }
}

}  // namespace

void dequantize_q2_K(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const block_q2_K*>(src);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float d = fp16_to_fp32(x[i].d);
    const float min = fp16_to_fp32(x[i].dmin);
    int8_t levels[QK_K];
    unpack_q2_K_levels(x[i], levels);
    for (int sb = 0; sb < QK_K / 16; ++sb) {
      const uint8_t sc = x[i].scales[sb];
      const float dl = d * static_cast<float>(sc & 0xF);
      const float ml = min * static_cast<float>(sc >> 4);
      for (int j = 16 * sb; j < 16 * sb + 16; ++j) {
        dst[i * QK_K + j] = dl * static_cast<float>(levels[j]) - ml;
      }
    }
  }
}

void dequantize_q3_K(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const block_q3_K*>(src);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float d_all = fp16_to_fp32(x[i].d);
    int8_t scales[16];
    int8_t levels[QK_K];
    unpack_q3_K_scales(x[i].scales, scales);
    unpack_q3_K_levels(x[i], levels);
    for (int j = 0; j < QK_K; ++j) {
      const float dl = d_all * static_cast<float>(scales[j / 16]);
      dst[i * QK_K + j] = dl * static_cast<float>(levels[j]);
    }
  }
}

namespace {

// Q4_K and Q5_K share the scale/min layout; they differ only in how the
// 4- or 5-bit levels are unpacked.
template <typename Block, void (*Unpack)(const Block&, int8_t*)>
void dequantize_scale_min_K(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const Block*>(src);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float d = fp16_to_fp32(x[i].d);
    const float min = fp16_to_fp32(x[i].dmin);
    int8_t levels[QK_K];
    Unpack(x[i], levels);
    for (int sb = 0; sb < QK_K / 32; ++sb) {
      const ScaleMin sm = get_scale_min_k4(sb, x[i].scales);
      const float dl = d * static_cast<float>(sm.scale);
      const float ml = min * static_cast<float>(sm.min);
      for (int j = 32 * sb; j < 32 * sb + 32; ++j) {
        dst[i * QK_K + j] = dl * static_cast<float>(levels[j]) - ml;
      }
    }
  }
}

}  // namespace

void dequantize_q4_K(const void* src, float* dst, int64_t n) {
  dequantize_scale_min_K<block_q4_K, unpack_q4_K_levels>(src, dst, n);
}

void dequantize_q5_K(const void* src, float* dst, int64_t n) {
  dequantize_scale_min_K<block_q5_K, unpack_q5_K_levels>(src, dst, n);
}

void dequantize_q6_K(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const block_q6_K*>(src);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float d = fp16_to_fp32(x[i].d);
    int8_t levels[QK_K];
    unpack_q6_K_levels(x[i], levels);
    for (int j = 0; j < QK_K; ++j) {
      dst[i * QK_K + j] =
          d * static_cast<float>(x[i].scales[j / 16]) * static_cast<float>(levels[j]);
    }
  }
}

void dequantize_q8_K(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const block_q8_K*>(src);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    for (int j = 0; j < QK_K; ++j) dst[i * QK_K + j] = x[i].d * static_cast<float>(x[i].qs[j]);
  }
}

// ggml's activation quantizer for K-quant weights: scale from the signed
// extreme (iscale = -127 / max, so the extreme maps to -127), round to nearest
// even, d = 1 / iscale kept in f32, plus per-16 sums.
void quantize_q8_K(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<block_q8_K*>(dst);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float* x = src + i * QK_K;
    float max = 0.0f;
    float amax = 0.0f;
    for (int j = 0; j < QK_K; ++j) {
      const float ax = std::fabs(x[j]);
      if (ax > amax) {
        amax = ax;
        max = x[j];
      }
    }
    if (amax == 0.0f) {
      std::memset(&y[i], 0, sizeof(block_q8_K));
      continue;
    }
    const float iscale = -127.0f / max;
    for (int j = 0; j < QK_K; ++j) {
      y[i].qs[j] = static_cast<int8_t>(std::min(127, nearest_int(iscale * x[j])));
    }
    for (int j = 0; j < QK_K / 16; ++j) {
      int sum = 0;
      for (int l = 0; l < 16; ++l) sum += y[i].qs[16 * j + l];
      y[i].bsums[j] = static_cast<int16_t>(sum);
    }
    y[i].d = 1 / iscale;
  }
}

// Q2_K: the mins enter the lanes first, lane m holding sub-blocks 2m and
// 2m+1 (min * activation sum), scaled by -dmin.
void vec_dot_q2_K_q8_K(int64_t n, float* out, const void* w, const void* act) {
  const auto* x = static_cast<const block_q2_K*>(w);
  const auto* y = static_cast<const block_q8_K*>(act);
  float acc[8] = {};
  for (int64_t i = 0; i < n / QK_K; ++i) {
    int scale16[16];
    int32_t mins[8];
    for (int j = 0; j < 16; ++j) scale16[j] = x[i].scales[j] & 0xF;
    for (int m = 0; m < 8; ++m)
      mins[m] = (x[i].scales[2 * m] >> 4) * y[i].bsums[2 * m] +
                (x[i].scales[2 * m + 1] >> 4) * y[i].bsums[2 * m + 1];
    int8_t levels[QK_K];
    unpack_q2_K_levels(x[i], levels);
    int32_t lanes[8];
    lane_sums(lanes, y[i].qs, levels, scale16);
    fma_lanes(acc, -y[i].d * fp16_to_fp32(x[i].dmin), mins);
    fma_lanes(acc, y[i].d * fp16_to_fp32(x[i].d), lanes);
  }
  *out = hsum_lanes(acc);
}

void vec_dot_q3_K_q8_K(int64_t n, float* out, const void* w, const void* act) {
  const auto* x = static_cast<const block_q3_K*>(w);
  const auto* y = static_cast<const block_q8_K*>(act);
  float acc[8] = {};
  for (int64_t i = 0; i < n / QK_K; ++i) {
    int8_t scales[16];
    int scale16[16];
    unpack_q3_K_scales(x[i].scales, scales);
    for (int j = 0; j < 16; ++j) scale16[j] = scales[j];
    int8_t levels[QK_K];
    unpack_q3_K_levels(x[i], levels);
    int32_t lanes[8];
    lane_sums(lanes, y[i].qs, levels, scale16);
    fma_lanes(acc, y[i].d * fp16_to_fp32(x[i].d), lanes);
  }
  *out = hsum_lanes(acc);
}

namespace {

// Per sub-block (32 elements) min times activation sum, as ggml pairs them:
// mins[k] covers sub-blocks 2k and 2k+1.
void k4_min_pairs(const uint8_t packed[12], const int16_t bsums[16], int32_t mins[4]) {
  for (int k = 0; k < 4; ++k) {
    mins[k] = 0;
    for (int sb = 2 * k; sb < 2 * k + 2; ++sb)
      mins[k] += get_scale_min_k4(sb, packed).min * (bsums[2 * sb] + bsums[2 * sb + 1]);
  }
}

// Q4_K and Q5_K share the dot product (8 sub-blocks with 6-bit scale and
// min), differing in how the levels unpack and in how ggml adds the mins:
// Q4_K in 4 float lanes (min pairs), summed (m0+m2) + (m1+m3) at the end;
// Q5_K as one float, each block's integer total added with one rounding.
enum class MinSum { FourLanes, OneFloat };

template <typename Block, void (*Unpack)(const Block&, int8_t*), MinSum kMins>
void vec_dot_scale_min_q8_K(int64_t n, float* out, const void* w, const void* act) {
  const auto* x = static_cast<const Block*>(w);
  const auto* y = static_cast<const block_q8_K*>(act);
  float acc[8] = {};
  float acc_min[4] = {};
  for (int64_t i = 0; i < n / QK_K; ++i) {
    int scale16[16];
    for (int j = 0; j < 16; ++j) scale16[j] = get_scale_min_k4(j / 2, x[i].scales).scale;
    int32_t mins[4];
    k4_min_pairs(x[i].scales, y[i].bsums, mins);
    const float dmin = -y[i].d * fp16_to_fp32(x[i].dmin);
    if constexpr (kMins == MinSum::FourLanes) {
      for (int k = 0; k < 4; ++k)
        acc_min[k] = std::fma(dmin, static_cast<float>(mins[k]), acc_min[k]);
    } else {
      acc_min[0] =
          std::fma(dmin, static_cast<float>(mins[0] + mins[1] + mins[2] + mins[3]), acc_min[0]);
    }
    int8_t levels[QK_K];
    Unpack(x[i], levels);
    int32_t lanes[8];
    lane_sums(lanes, y[i].qs, levels, scale16);
    fma_lanes(acc, y[i].d * fp16_to_fp32(x[i].d), lanes);
  }
  *out = hsum_lanes(acc) + ((acc_min[0] + acc_min[2]) + (acc_min[1] + acc_min[3]));
}

}  // namespace

void vec_dot_q4_K_q8_K(int64_t n, float* out, const void* w, const void* act) {
  vec_dot_scale_min_q8_K<block_q4_K, unpack_q4_K_levels, MinSum::FourLanes>(n, out, w, act);
}

void vec_dot_q5_K_q8_K(int64_t n, float* out, const void* w, const void* act) {
  vec_dot_scale_min_q8_K<block_q5_K, unpack_q5_K_levels, MinSum::OneFloat>(n, out, w, act);
}

void vec_dot_q6_K_q8_K(int64_t n, float* out, const void* w, const void* act) {
  const auto* x = static_cast<const block_q6_K*>(w);
  const auto* y = static_cast<const block_q8_K*>(act);
  float acc[8] = {};
  for (int64_t i = 0; i < n / QK_K; ++i) {
    int scale16[16];
    for (int j = 0; j < 16; ++j) scale16[j] = x[i].scales[j];
    int8_t levels[QK_K];
    unpack_q6_K_levels(x[i], levels);
    int32_t lanes[8];
    lane_sums(lanes, y[i].qs, levels, scale16);
    fma_lanes(acc, y[i].d * fp16_to_fp32(x[i].d), lanes);
  }
  *out = hsum_lanes(acc);
}

}  // namespace flashslim::ref
