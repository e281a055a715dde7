// Reference quantizers for the K-quant weight types, as ggml's
// quantize_row_q{2..6}_K_ref (what llama-quantize writes without an
// importance matrix): per sub-block a scale (and min) search, the scales
// themselves quantized to 4/6/8 bits, then every weight re-rounded against the
// stored scale. Same float operations and order as ggml, so the output is
// byte-identical on the same input.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "tensor/block_formats.h"
#include "tensor/k_quant_helpers.h"
#include "tensor/reference_kernels.h"

namespace flashslim::ref {

namespace {

constexpr float kGroupMaxEps = 1e-15f;  // a sub-block below this is all zero

float signed_absmax(const float* x, int n) {
  float max = 0.0f;
  float amax = 0.0f;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  return max;
}

// Symmetric levels in -nmax..nmax-1 (stored +nmax) with a scale found by a
// weighted least-squares fit (weights x^2) over 19 candidate grids; returns
// the scale. ggml's make_qx_quants with rmse_type 1 and no importance.
float make_qx_quants(int n, int nmax, const float* x, int8_t* L) {
  const float max = signed_absmax(x, n);
  if (std::fabs(max) < kGroupMaxEps) {
    std::fill(L, L + n, 0);
    return 0.0f;
  }
  auto level = [nmax](float v) { return std::max(-nmax, std::min(nmax - 1, nearest_int(v))); };
  const float iscale = static_cast<float>(-nmax) / max;
  float sumlx = 0.0f;
  float suml2 = 0.0f;
  for (int i = 0; i < n; ++i) {
    const int l = level(iscale * x[i]);
    L[i] = static_cast<int8_t>(l + nmax);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * static_cast<float>(l);
    suml2 += w * static_cast<float>(l) * static_cast<float>(l);
  }
  float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  // The 18 candidate grids (is = -9..9 without 0) are independent until the
  // in-order choice: one grid per lane, each lane summing over i in the same
  // order as a grid-at-a-time loop, so the compiler vectorizes across lanes.
  constexpr int kGrids = 18;
  constexpr int kLanes = 20;
  float iscales[kLanes] = {};
  for (int g = 0; g < kGrids; ++g) {
    const int is = g < 9 ? g - 9 : g - 8;
    iscales[g] = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(is)) / max;
  }
  const float lo = static_cast<float>(-nmax);
  const float hi = static_cast<float>(nmax - 1);
  float lane_sumlx[kLanes] = {};
  float lane_suml2[kLanes] = {};
  for (int i = 0; i < n; ++i) {
    const float w = x[i] * x[i];
    const float wx = w * x[i];
    for (int g = 0; g < kLanes; ++g) {
      const float l = std::max(lo, std::min(hi, nearest_int_as_float(iscales[g] * x[i])));
      lane_sumlx[g] += wx * l;
      lane_suml2[g] += w * l * l;
    }
  }
  for (int g = 0; g < kGrids; ++g) {
    if (lane_suml2[g] > 0 && lane_sumlx[g] * lane_sumlx[g] > best * lane_suml2[g]) {
      for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(nmax + level(iscales[g] * x[i]));
      scale = lane_sumlx[g] / lane_suml2[g];
      best = scale * lane_sumlx[g];
    }
  }
  return scale;
}

// Symmetric levels for Q3_K (stored +nmax): start from the max-based grid,
// then up to 5 passes of coordinate descent on the x^2-weighted error.
float make_q3_quants(int n, int nmax, const float* x, int8_t* L) {
  const float max = signed_absmax(x, n);
  if (std::fabs(max) < kGroupMaxEps) {
    std::fill(L, L + n, 0);
    return 0.0f;
  }
  auto clamp = [nmax](int l) { return std::max(-nmax, std::min(nmax - 1, l)); };
  const float iscale = static_cast<float>(-nmax) / max;
  float sumlx = 0.0f;
  float suml2 = 0.0f;
  for (int i = 0; i < n; ++i) {
    const int l = clamp(nearest_int(iscale * x[i]));
    L[i] = static_cast<int8_t>(l);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * static_cast<float>(l);
    suml2 += w * static_cast<float>(l) * static_cast<float>(l);
  }
  for (int itry = 0; itry < 5; ++itry) {
    int n_changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i];
      float slx = sumlx - w * x[i] * static_cast<float>(L[i]);
      if (slx > 0) {
        float sl2 = suml2 - w * static_cast<float>(L[i]) * static_cast<float>(L[i]);
        const int new_l = clamp(nearest_int(x[i] * sl2 / slx));
        if (new_l != L[i]) {
          slx += w * x[i] * static_cast<float>(new_l);
          sl2 += w * static_cast<float>(new_l) * static_cast<float>(new_l);
          if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
            L[i] = static_cast<int8_t>(new_l);
            sumlx = slx;
            suml2 = sl2;
            ++n_changed;
          }
        }
      }
    }
    if (n_changed == 0) break;
  }
  for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(L[i] + nmax);
  return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// Asymmetric levels 0..nmax with x ~ scale * L - the_min: tries nstep+1 grids
// and keeps the weighted least-squares (scale, min) of least error (absolute
// error if use_mad). ggml's make_qkx2_quants; returns the scale.
float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L,
                       float* the_min, float rmin, float rdelta, int nstep, bool use_mad) {
  float min = x[0];
  float max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    const float w = weights[i];
    sum_w += w;
    sum_x += w * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    std::fill(L, L + n, 0);
    *the_min = -min;
    return 0.0f;
  }
  auto error_of = [use_mad](float diff) { return use_mad ? std::fabs(diff) : diff * diff; };
  float iscale = static_cast<float>(nmax) / (max - min);
  float scale = 1 / iscale;
  float best_error = 0.0f;
  for (int i = 0; i < n; ++i) {
    const int l = nearest_int(iscale * (x[i] - min));
    L[i] = static_cast<uint8_t>(std::max(0, std::min(nmax, l)));
    const float diff = scale * static_cast<float>(L[i]) + min - x[i];
    best_error += weights[i] * error_of(diff);
  }
  // Grid is depends on the grids before it only through min, which changes
  // when a grid wins. So all grids from `first` on are evaluated at once with
  // the current min, one grid per lane (each lane sums over i in the same order
  // as a grid-at-a-time loop, and the compiler vectorizes across lanes); they
  // are then compared in order, and after a win that moves min the grids past
  // the winner are evaluated again.
  constexpr int kLanes = 4;  // grids first..first+3 at a time
  float levels[32][kLanes];  // [element][grid - first], n <= 32
  const float fmax = static_cast<float>(nmax);
  int first = 0;
  while (first <= nstep) {
    float iscales[kLanes] = {};
    for (int is = first; is <= std::min(nstep, first + kLanes - 1); ++is) {
      iscales[is - first] =
          (rmin + rdelta * static_cast<float>(is) + static_cast<float>(nmax)) / (max - min);
    }
    float sum_l[kLanes] = {};
    float sum_l2[kLanes] = {};
    float sum_xl[kLanes] = {};
    for (int i = 0; i < n; ++i) {
      const float w = weights[i];
      const float xi = x[i];
      const float shifted = x[i] - min;
      for (int g = 0; g < kLanes; ++g) {
        const float l = std::max(0.0f, std::min(fmax, nearest_int_as_float(iscales[g] * shifted)));
        levels[i][g] = l;
        sum_l[g] += w * l;
        sum_l2[g] += w * l * l;
        sum_xl[g] += w * l * xi;
      }
    }
    // Lanes with D <= 0 (and the unused ones) may hold inf/NaN; they are never chosen.
    float dets[kLanes];
    float lane_scale[kLanes];
    float lane_min[kLanes];
    for (int g = 0; g < kLanes; ++g) {
      dets[g] = sum_w * sum_l2[g] - sum_l[g] * sum_l[g];
      lane_scale[g] = (sum_w * sum_xl[g] - sum_x * sum_l[g]) / dets[g];
      lane_min[g] = (sum_l2[g] * sum_x - sum_l[g] * sum_xl[g]) / dets[g];
      if (lane_min[g] > 0) {
        lane_min[g] = 0;
        lane_scale[g] = sum_xl[g] / sum_l2[g];
      }
    }
    float errors[kLanes] = {};
    for (int i = 0; i < n; ++i) {
      for (int g = 0; g < kLanes; ++g) {
        const float diff = lane_scale[g] * levels[i][g] + lane_min[g] - x[i];
        errors[g] += weights[i] * error_of(diff);
      }
    }
    const int end = std::min(nstep + 1, first + kLanes);
    int next = end;
    for (int is = first; is < end; ++is) {
      const int g = is - first;
      if (dets[g] > 0 && errors[g] < best_error) {
        for (int i = 0; i < n; ++i) L[i] = static_cast<uint8_t>(levels[i][g]);
        best_error = errors[g];
        scale = lane_scale[g];
        const bool min_moved = lane_min[g] != min;
        min = lane_min[g];
        if (min_moved) {
          next = is + 1;
          break;
        }
      }
    }
    first = next;
  }
  *the_min = -min;
  return scale;
}

// Q2_K/Q3_K: 2-bit levels, element 32*k + l of each 128-element half in bits
// 2k..2k+1 of qs[32*half + l].
void pack_2bit(const uint8_t* L, uint8_t* qs) {
  for (int j = 0; j < QK_K; j += 128) {
    for (int l = 0; l < 32; ++l) {
      qs[j / 4 + l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) |
                                           (L[j + l + 96] << 6));
    }
  }
}

// Q4_K/Q5_K: the 8 six-bit scales and mins into 12 bytes (see get_scale_min_k4).
void pack_scale_min_k4(const uint8_t ls[8], const uint8_t lm[8], uint8_t packed[12]) {
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      packed[j] = ls[j];
      packed[j + 4] = lm[j];
    } else {
      packed[j + 4] = static_cast<uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
      packed[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
      packed[j] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
    }
  }
}

// Shared by Q4_K (nmax 15) and Q5_K (nmax 31): per 32-element sub-block a
// (scale, min) fit, both quantized to 6 bits against the block maxima, then
// every level re-rounded against the stored values. Fills d, dmin, scales and L.
template <typename Block>
void quantize_scale_min_k4(const float* x, Block& y, uint8_t L[QK_K], int nmax, float rmin,
                           float rdelta, int nstep) {
  float weights[32];
  float mins[QK_K / 32];
  float scales[QK_K / 32];
  float max_scale = 0.0f;  // scales and mins are never negative here
  float max_min = 0.0f;
  for (int j = 0; j < QK_K / 32; ++j) {
    float sum_x2 = 0.0f;
    for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
    scales[j] = make_qkx2_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], rmin, rdelta,
                                 nstep, false);
    max_scale = std::max(max_scale, scales[j]);
    max_min = std::max(max_min, mins[j]);
  }
  const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
  const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
  uint8_t ls[8];
  uint8_t lm[8];
  for (int j = 0; j < QK_K / 32; ++j) {
    ls[j] = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_scale * scales[j])));
    lm[j] = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_min * mins[j])));
  }
  pack_scale_min_k4(ls, lm, y.scales);
  y.d = fp32_to_fp16(max_scale / 63.0f);
  y.dmin = fp32_to_fp16(max_min / 63.0f);
  for (int j = 0; j < QK_K / 32; ++j) {
    const ScaleMin sm = get_scale_min_k4(j, y.scales);
    const float d = fp16_to_fp32(y.d) * static_cast<float>(sm.scale);
    if (d == 0.0f) continue;
    const float dm = fp16_to_fp32(y.dmin) * static_cast<float>(sm.min);
    for (int ii = 0; ii < 32; ++ii) {
      const int l = nearest_int((x[32 * j + ii] + dm) / d);
      L[32 * j + ii] = static_cast<uint8_t>(std::max(0, std::min(nmax, l)));
    }
  }
}

}  // namespace

void quantize_q2_K(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<block_q2_K*>(dst);
  constexpr float q4scale = 15.0f;
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float* x = src + i * QK_K;
    uint8_t L[QK_K];
    float weights[16];
    float mins[QK_K / 16];
    float scales[QK_K / 16];
    float max_scale = 0.0f;
    float max_min = 0.0f;
    for (int j = 0; j < QK_K / 16; ++j) {
      for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
      scales[j] =
          make_qkx2_quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], -0.5f, 0.1f, 15, true);
      max_scale = std::max(max_scale, scales[j]);
      max_min = std::max(max_min, mins[j]);
    }
    if (max_scale > 0) {
      const float iscale = q4scale / max_scale;
      for (int j = 0; j < QK_K / 16; ++j) {
        y[i].scales[j] = static_cast<uint8_t>(nearest_int(iscale * scales[j]));
      }
      y[i].d = fp32_to_fp16(max_scale / q4scale);
    } else {
      std::fill(y[i].scales, y[i].scales + QK_K / 16, 0);
      y[i].d = fp32_to_fp16(0.0f);
    }
    if (max_min > 0) {
      const float iscale = q4scale / max_min;
      for (int j = 0; j < QK_K / 16; ++j) {
        y[i].scales[j] |= static_cast<uint8_t>(nearest_int(iscale * mins[j]) << 4);
      }
      y[i].dmin = fp32_to_fp16(max_min / q4scale);
    } else {
      y[i].dmin = fp32_to_fp16(0.0f);
    }
    for (int j = 0; j < QK_K / 16; ++j) {
      const float d = fp16_to_fp32(y[i].d) * static_cast<float>(y[i].scales[j] & 0xF);
      if (d == 0.0f) continue;
      const float dm = fp16_to_fp32(y[i].dmin) * static_cast<float>(y[i].scales[j] >> 4);
      for (int ii = 0; ii < 16; ++ii) {
        const int l = nearest_int((x[16 * j + ii] + dm) / d);
        L[16 * j + ii] = static_cast<uint8_t>(std::max(0, std::min(3, l)));
      }
    }
    pack_2bit(L, y[i].qs);
  }
}

void quantize_q3_K(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<block_q3_K*>(dst);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float* x = src + i * QK_K;
    int8_t L[QK_K];
    float scales[QK_K / 16];
    float max_scale = 0.0f;
    float amax = 0.0f;
    for (int j = 0; j < QK_K / 16; ++j) {
      scales[j] = make_q3_quants(16, 4, x + 16 * j, L + 16 * j);
      const float scale = std::fabs(scales[j]);
      if (scale > amax) {
        amax = scale;
        max_scale = scales[j];
      }
    }
    std::memset(y[i].scales, 0, sizeof(y[i].scales));
    if (max_scale != 0.0f) {
      const float iscale = -32.0f / max_scale;
      for (int j = 0; j < QK_K / 16; ++j) {
        const int8_t rounded = static_cast<int8_t>(nearest_int(iscale * scales[j]));
        const int l = std::max<int>(-32, std::min<int>(31, rounded)) + 32;
        if (j < 8) {
          y[i].scales[j] = static_cast<uint8_t>(l & 0xF);
        } else {
          y[i].scales[j - 8] |= static_cast<uint8_t>((l & 0xF) << 4);
        }
        y[i].scales[j % 4 + 8] |= static_cast<uint8_t>((l >> 4) << (2 * (j / 4)));
      }
      y[i].d = fp32_to_fp16(1 / iscale);
    } else {
      y[i].d = fp32_to_fp16(0.0f);
    }
    int8_t stored_scales[16];
    unpack_q3_K_scales(y[i].scales, stored_scales);
    for (int j = 0; j < QK_K / 16; ++j) {
      const float d = fp16_to_fp32(y[i].d) * static_cast<float>(stored_scales[j]);
      if (d == 0.0f) continue;
      for (int ii = 0; ii < 16; ++ii) {
        const int l = nearest_int(x[16 * j + ii] / d);
        L[16 * j + ii] = static_cast<int8_t>(std::max(-4, std::min(3, l)) + 4);
      }
    }
    // Bit 2 of each level goes to hmask (element j: bit j/32 of hmask[j%32]).
    std::memset(y[i].hmask, 0, sizeof(y[i].hmask));
    uint8_t low[QK_K];
    for (int j = 0; j < QK_K; ++j) {
      if (L[j] > 3) y[i].hmask[j % 32] |= static_cast<uint8_t>(1u << (j / 32));
      low[j] = static_cast<uint8_t>(L[j] & 3);
    }
    pack_2bit(low, y[i].qs);
  }
}

void quantize_q4_K(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<block_q4_K*>(dst);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    uint8_t L[QK_K];
    quantize_scale_min_k4(src + i * QK_K, y[i], L, 15, -1.0f, 0.1f, 20);
    for (int j = 0; j < QK_K; j += 64) {
      for (int l = 0; l < 32; ++l) {
        y[i].qs[j / 2 + l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 4));
      }
    }
  }
}

void quantize_q5_K(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<block_q5_K*>(dst);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    uint8_t L[QK_K];
    quantize_scale_min_k4(src + i * QK_K, y[i], L, 31, -0.5f, 0.1f, 15);
    std::memset(y[i].qh, 0, sizeof(y[i].qh));
    for (int j = 0; j < QK_K; j += 64) {
      const int pair = j / 64;
      for (int l = 0; l < 32; ++l) {
        const int lo = L[j + l];
        const int hi = L[j + l + 32];
        if (lo > 15) y[i].qh[l] |= static_cast<uint8_t>(1u << (2 * pair));
        if (hi > 15) y[i].qh[l] |= static_cast<uint8_t>(2u << (2 * pair));
        y[i].qs[j / 2 + l] = static_cast<uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
      }
    }
  }
}

void quantize_q6_K(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<block_q6_K*>(dst);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float* x = src + i * QK_K;
    int8_t L[QK_K];
    float scales[QK_K / 16];
    float max_scale = 0.0f;
    float max_abs_scale = 0.0f;
    for (int ib = 0; ib < QK_K / 16; ++ib) {
      scales[ib] = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib);
      const float abs_scale = std::fabs(scales[ib]);
      if (abs_scale > max_abs_scale) {
        max_abs_scale = abs_scale;
        max_scale = scales[ib];
      }
    }
    if (max_abs_scale < kGroupMaxEps) {
      std::memset(&y[i], 0, sizeof(block_q6_K));
      continue;
    }
    const float iscale = -128.0f / max_scale;
    y[i].d = fp32_to_fp16(1 / iscale);
    for (int ib = 0; ib < QK_K / 16; ++ib) {
      y[i].scales[ib] = static_cast<int8_t>(std::min(127, nearest_int(iscale * scales[ib])));
    }
    for (int j = 0; j < QK_K / 16; ++j) {
      const float d = fp16_to_fp32(y[i].d) * static_cast<float>(y[i].scales[j]);
      if (d == 0.0f) continue;
      for (int ii = 0; ii < 16; ++ii) {
        const int l = nearest_int(x[16 * j + ii] / d);
        L[16 * j + ii] = static_cast<int8_t>(std::max(-32, std::min(31, l)) + 32);
      }
    }
    // Per 128 elements: 64 bytes of low nibbles (quarters 0/1 low, 2/3 high)
    // and 32 bytes holding the 2 high bits of the 4 quarters.
    for (int j = 0; j < QK_K; j += 128) {
      uint8_t* ql = y[i].ql + j / 2;
      uint8_t* qh = y[i].qh + j / 4;
      for (int l = 0; l < 32; ++l) {
        const int q1 = L[j + l], q2 = L[j + l + 32], q3 = L[j + l + 64], q4 = L[j + l + 96];
        ql[l] = static_cast<uint8_t>((q1 & 0xF) | ((q3 & 0xF) << 4));
        ql[l + 32] = static_cast<uint8_t>((q2 & 0xF) | ((q4 & 0xF) << 4));
        qh[l] = static_cast<uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) |
                                     ((q4 >> 4) << 6));
      }
    }
  }
}

}  // namespace flashslim::ref
