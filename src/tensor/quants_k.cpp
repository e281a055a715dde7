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

// Q3_K levels in element order, -4..3.
void unpack_q3_K_levels(const block_q3_K& b, int8_t levels[QK_K]) {
  for (int j = 0; j < QK_K; ++j) {
    const int half = j / 128;  // 32 bytes of qs per 128 elements
    const int shift = (j % 128) / 32 * 2;
    const int l = j % 32;
    const int low = (b.qs[32 * half + l] >> shift) & 3;
    const bool high = b.hmask[l] & (1u << (j / 32));
    levels[j] = static_cast<int8_t>(low - (high ? 0 : 4));
  }
}

// Q2_K levels in element order, 0..3.
int q2_K_level(const block_q2_K& b, int j) {
  return (b.qs[32 * (j / 128) + j % 32] >> ((j % 128) / 32 * 2)) & 3;
}

// Q4_K/Q5_K low 4 bits of element j.
int q4_K_nibble(const uint8_t qs[QK_K / 2], int j) {
  const uint8_t byte = qs[32 * (j / 64) + j % 32];
  return (j % 64) < 32 ? byte & 0xF : byte >> 4;
}

int q5_K_level(const block_q5_K& b, int j) {
  const int bit = 2 * (j / 64) + ((j % 64) < 32 ? 0 : 1);
  return q4_K_nibble(b.qs, j) + ((b.qh[j % 32] >> bit) & 1 ? 16 : 0);
}

// Q6_K level of element j, -32..31.
int q6_K_level(const block_q6_K& b, int j) {
  const int half = j / 128;  // 64 bytes of ql and 32 of qh per 128 elements
  const int quarter = (j % 128) / 32;
  const int l = j % 32;
  const uint8_t ql = b.ql[64 * half + l + (quarter % 2) * 32];
  const int low = quarter < 2 ? ql & 0xF : ql >> 4;
  const int high = (b.qh[32 * half + l] >> (2 * quarter)) & 3;
  return (low | (high << 4)) - 32;
}

}  // namespace

void dequantize_q2_K(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const block_q2_K*>(src);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float d = fp16_to_fp32(x[i].d);
    const float min = fp16_to_fp32(x[i].dmin);
    for (int j = 0; j < QK_K; ++j) {
      const uint8_t sc = x[i].scales[j / 16];
      const float dl = d * static_cast<float>(sc & 0xF);
      const float ml = min * static_cast<float>(sc >> 4);
      dst[i * QK_K + j] = dl * static_cast<float>(q2_K_level(x[i], j)) - ml;
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

void dequantize_q4_K(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const block_q4_K*>(src);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float d = fp16_to_fp32(x[i].d);
    const float min = fp16_to_fp32(x[i].dmin);
    for (int sb = 0; sb < QK_K / 32; ++sb) {
      const ScaleMin sm = get_scale_min_k4(sb, x[i].scales);
      const float dl = d * static_cast<float>(sm.scale);
      const float ml = min * static_cast<float>(sm.min);
      for (int j = 32 * sb; j < 32 * sb + 32; ++j) {
        dst[i * QK_K + j] = dl * static_cast<float>(q4_K_nibble(x[i].qs, j)) - ml;
      }
    }
  }
}

void dequantize_q5_K(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const block_q5_K*>(src);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float d = fp16_to_fp32(x[i].d);
    const float min = fp16_to_fp32(x[i].dmin);
    for (int sb = 0; sb < QK_K / 32; ++sb) {
      const ScaleMin sm = get_scale_min_k4(sb, x[i].scales);
      const float dl = d * static_cast<float>(sm.scale);
      const float ml = min * static_cast<float>(sm.min);
      for (int j = 32 * sb; j < 32 * sb + 32; ++j) {
        dst[i * QK_K + j] = dl * static_cast<float>(q5_K_level(x[i], j)) - ml;
      }
    }
  }
}

void dequantize_q6_K(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const block_q6_K*>(src);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float d = fp16_to_fp32(x[i].d);
    for (int j = 0; j < QK_K; ++j) {
      dst[i * QK_K + j] =
          d * static_cast<float>(x[i].scales[j / 16]) * static_cast<float>(q6_K_level(x[i], j));
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
    int isum = 0;
    for (int sb = 0; sb < 16; ++sb) {
      int isuml = 0;
      for (int l = 0; l < 16; ++l) isuml += y[i].qs[16 * sb + l] * q2_K_level(x[i], 16 * sb + l);
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

void vec_dot_q4_K_q8_K(int64_t n, float* out, const void* w, const void* act) {
  const auto* x = static_cast<const block_q4_K*>(w);
  const auto* y = static_cast<const block_q8_K*>(act);
  float lanes[8] = {};
  float sum = 0.0f;
  for (int64_t i = 0; i < n / QK_K; ++i) {
    int8_t levels[QK_K];
    for (int j = 0; j < QK_K; ++j) levels[j] = static_cast<int8_t>(q4_K_nibble(x[i].qs, j));
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

void vec_dot_q5_K_q8_K(int64_t n, float* out, const void* w, const void* act) {
  const auto* x = static_cast<const block_q5_K*>(w);
  const auto* y = static_cast<const block_q8_K*>(act);
  float lanes[8] = {};
  float sum = 0.0f;
  for (int64_t i = 0; i < n / QK_K; ++i) {
    int8_t levels[QK_K];
    for (int j = 0; j < QK_K; ++j) levels[j] = static_cast<int8_t>(q5_K_level(x[i], j));
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

void vec_dot_q6_K_q8_K(int64_t n, float* out, const void* w, const void* act) {
  const auto* x = static_cast<const block_q6_K*>(w);
  const auto* y = static_cast<const block_q8_K*>(act);
  float lanes[8] = {};
  for (int64_t i = 0; i < n / QK_K; ++i) {
    int8_t levels[QK_K];
    for (int j = 0; j < QK_K; ++j) levels[j] = static_cast<int8_t>(q6_K_level(x[i], j));
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
