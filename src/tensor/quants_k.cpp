// K-quants (256-element super-blocks): dequantizers, ggml's generic dot
// products with Q8_K activations, and the Q8_K activation quantizer. The
// dot products keep ggml's 8 float partial sums, so rounding matches.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "tensor/block_formats.h"
#include "tensor/k_quant_helpers.h"
#include "tensor/reference_kernels.h"

namespace flashslim::ref {

namespace {

// Sum of the 8 partial sums, added last as in ggml.
float sum_lanes(float total, const float lanes[8]) {
  for (int l = 0; l < 8; ++l) total += lanes[l];
  return total;
}

// Adds scale * q8 * a over 16 elements into the 8 integer lanes.
void accumulate16(int32_t lanes[8], int32_t scale, const int8_t* q8, const int8_t* a) {
  for (int half = 0; half < 2; ++half) {
    for (int l = 0; l < 8; ++l) lanes[l] += scale * (q8[8 * half + l] * a[8 * half + l]);
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

void vec_dot_q2_K_q8_K(int64_t n, float* out, const void* w, const void* act) {
  const auto* x = static_cast<const block_q2_K*>(w);
  const auto* y = static_cast<const block_q8_K*>(act);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / QK_K; ++i) {
    int summs = 0;  // minimum terms: sum over sub-blocks of min * sum(q8)
    for (int j = 0; j < 16; ++j) summs += y[i].bsums[j] * (x[i].scales[j] >> 4);
    const float dall = y[i].d * fp16_to_fp32(x[i].d);
    const float dmin = y[i].d * fp16_to_fp32(x[i].dmin);
    int8_t levels[QK_K];
    unpack_q2_K_levels(x[i], levels);
    int isum = 0;
    for (int sb = 0; sb < 16; ++sb) {
      int isuml = 0;
      for (int l = 0; l < 16; ++l) isuml += y[i].qs[16 * sb + l] * levels[16 * sb + l];
      isum += (x[i].scales[sb] & 0xF) * isuml;
    }
    sum += dall * static_cast<float>(isum) - dmin * static_cast<float>(summs);
  }
  *out = sum;
}

void vec_dot_q3_K_q8_K(int64_t n, float* out, const void* w, const void* act) {
  const auto* x = static_cast<const block_q3_K*>(w);
  const auto* y = static_cast<const block_q8_K*>(act);
  float lanes[8] = {};
  for (int64_t i = 0; i < n / QK_K; ++i) {
    int8_t scales[16];
    int8_t levels[QK_K];
    unpack_q3_K_scales(x[i].scales, scales);
    unpack_q3_K_levels(x[i], levels);
    int32_t isums[8] = {};
    for (int sb = 0; sb < 16; ++sb)
      accumulate16(isums, scales[sb], y[i].qs + 16 * sb, levels + 16 * sb);
    const float d = fp16_to_fp32(x[i].d) * y[i].d;
    for (int l = 0; l < 8; ++l) lanes[l] += d * static_cast<float>(isums[l]);
  }
  *out = sum_lanes(0.0f, lanes);
}

namespace {
// Q4_K and Q5_K share the dot product: 8 sub-blocks with 6-bit scale and min,
// differing only in how the levels unpack.
template <typename Block, void (*Unpack)(const Block&, int8_t*)>
void vec_dot_scale_min_q8_K(int64_t n, float* out, const void* w, const void* act) {
  const auto* x = static_cast<const Block*>(w);
  const auto* y = static_cast<const block_q8_K*>(act);
  float lanes[8] = {};
  float sum = 0.0f;
  for (int64_t i = 0; i < n / QK_K; ++i) {
    int8_t levels[QK_K];
    Unpack(x[i], levels);
    int32_t isums[8] = {};
    int summs = 0;
    for (int sb = 0; sb < 8; ++sb) {
      const ScaleMin sm = get_scale_min_k4(sb, x[i].scales);
      summs += (y[i].bsums[2 * sb] + y[i].bsums[2 * sb + 1]) * sm.min;
      accumulate16(isums, sm.scale, y[i].qs + 32 * sb, levels + 32 * sb);
      accumulate16(isums, sm.scale, y[i].qs + 32 * sb + 16, levels + 32 * sb + 16);
    }
    const float d = fp16_to_fp32(x[i].d) * y[i].d;
    for (int l = 0; l < 8; ++l) lanes[l] += d * static_cast<float>(isums[l]);
    const float dmin = fp16_to_fp32(x[i].dmin) * y[i].d;
    sum -= dmin * static_cast<float>(summs);
  }
  *out = sum_lanes(sum, lanes);
}
}  // namespace

void vec_dot_q4_K_q8_K(int64_t n, float* out, const void* w, const void* act) {
  vec_dot_scale_min_q8_K<block_q4_K, unpack_q4_K_levels>(n, out, w, act);
}

void vec_dot_q5_K_q8_K(int64_t n, float* out, const void* w, const void* act) {
  vec_dot_scale_min_q8_K<block_q5_K, unpack_q5_K_levels>(n, out, w, act);
}

void vec_dot_q6_K_q8_K(int64_t n, float* out, const void* w, const void* act) {
  const auto* x = static_cast<const block_q6_K*>(w);
  const auto* y = static_cast<const block_q8_K*>(act);
  float lanes[8] = {};
  for (int64_t i = 0; i < n / QK_K; ++i) {
    int8_t levels[QK_K];
    unpack_q6_K_levels(x[i], levels);
    int32_t isums[8] = {};
    for (int sb = 0; sb < 16; ++sb) {
      accumulate16(isums, x[i].scales[sb], y[i].qs + 16 * sb, levels + 16 * sb);
    }
    const float d = fp16_to_fp32(x[i].d) * y[i].d;
    for (int l = 0; l < 8; ++l) lanes[l] += d * static_cast<float>(isums[l]);
  }
  *out = sum_lanes(0.0f, lanes);
}

}  // namespace flashslim::ref
