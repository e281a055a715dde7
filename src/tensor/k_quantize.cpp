// Reference quantizers for the K-quant weight types, as ggml's
// quantize_row_q{2..6}_K_ref (what llama-quantize writes without an
// importance matrix): per sub-block a scale (and min) search, the scales
// themselves quantized to 4/6/8 bits, then every weight re-rounded against the
// stored scale. Same float operations and order as ggml, so the output is
// byte-identical on the same input.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/target_clones.h"
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

// Sub-blocks are searched side by side, one per lane: every lane runs ggml's
// scalar algorithm on its own sub-block with the same float operations in the
// same order, so the lane loops (fixed length, selects instead of branches)
// vectorize, also for AVX2/AVX-512 (core/target_clones.h), without changing a
// bit. Operands are transposed: xt[i][k] is element i of lane k's sub-block.
constexpr int kLanes = 16;

// Symmetric levels in -nmax..nmax-1 (stored +nmax) with a scale found by a
// weighted least-squares fit (weights x^2) over 19 candidate grids compared
// in order; ggml's make_qx_quants with rmse_type 1 and no importance. n <= 16.
FLASHSLIM_LANE_CLONES
void make_qx_quants_lanes(int n, int nmax, const float xt[][kLanes], int8_t Lt[][kLanes],
                          float scale[kLanes]) {
  FLASHSLIM_NO_FP_CONTRACT
  float max[kLanes] = {};  // signed value of largest magnitude
  float amax[kLanes] = {};
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < kLanes; ++k) {
      const float ax = std::fabs(xt[i][k]);
      max[k] = ax > amax[k] ? xt[i][k] : max[k];
      amax[k] = ax > amax[k] ? ax : amax[k];
    }
  }
  const float lo = static_cast<float>(-nmax);
  const float hi = static_cast<float>(nmax - 1);
  float w[16][kLanes];  // fit weights x^2, and x^3 as w * x
  float wx[16][kLanes];
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < kLanes; ++k) {
      w[i][k] = xt[i][k] * xt[i][k];
      wx[i][k] = w[i][k] * xt[i][k];
    }
  }
  float best[kLanes] = {};
  float best_iscale[kLanes] = {};  // the winning grid, whose levels are recomputed at the end
  std::fill_n(scale, kLanes, 0.0f);
  // Grid 0 is -nmax / max; grids 1..18 are -(nmax + 0.1 is) / max for
  // is = -9..9 without 0, and replace the fit so far when they do better.
  for (int grid = 0; grid <= 18; ++grid) {
    const int is = grid < 10 ? grid - 10 : grid - 9;
    const float numerator = grid == 0 ? static_cast<float>(-nmax)
                                      : -(static_cast<float>(nmax) + 0.1f * static_cast<float>(is));
    float iscale[kLanes];
    float sumlx[kLanes] = {};
    float suml2[kLanes] = {};
    for (int k = 0; k < kLanes; ++k) iscale[k] = numerator / max[k];
    for (int i = 0; i < n; ++i) {
      for (int k = 0; k < kLanes; ++k) {
        const float l = std::max(lo, std::min(hi, nearest_int_as_float(iscale[k] * xt[i][k])));
        sumlx[k] += wx[i][k] * l;
        suml2[k] += w[i][k] * l * l;
      }
    }
    for (int k = 0; k < kLanes; ++k) {
      const int32_t better =
          (grid == 0) | ((suml2[k] > 0) & (sumlx[k] * sumlx[k] > best[k] * suml2[k]));
      const float ratio = sumlx[k] / suml2[k];  // unused (0/0) when suml2 is 0
      const float fitted = suml2[k] != 0.0f ? ratio : 0.0f;
      scale[k] = better ? fitted : scale[k];
      best[k] = better ? fitted * sumlx[k] : best[k];
      best_iscale[k] = better ? iscale[k] : best_iscale[k];
    }
  }
  int32_t zero[kLanes];
  for (int k = 0; k < kLanes; ++k) {
    zero[k] = std::fabs(max[k]) < kGroupMaxEps;
    scale[k] = zero[k] ? 0.0f : scale[k];
  }
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < kLanes; ++k) {
      const float l = std::max(lo, std::min(hi, nearest_int_as_float(best_iscale[k] * xt[i][k])));
      Lt[i][k] = static_cast<int8_t>(zero[k] ? 0 : static_cast<int>(l) + nmax);
    }
  }
}

// Asymmetric levels 0..nmax with x ~ scale * L - the_min: tries nstep+1 grids
// in order, each centred on the best min so far, and keeps the weighted
// least-squares (scale, min) of least error (absolute error if use_mad).
// ggml's make_qkx2_quants; the_min is returned negated as ggml stores it. n <= 32.
FLASHSLIM_LANE_CLONES
void make_qkx2_quants_lanes(int n, int nmax, const float xt[][kLanes], const float wt[][kLanes],
                            uint8_t Lt[][kLanes], float scale[kLanes], float the_min[kLanes],
                            float rmin, float rdelta, int nstep, bool use_mad) {
  FLASHSLIM_NO_FP_CONTRACT
  float min[kLanes];
  float max[kLanes];
  float sum_w[kLanes];
  float sum_x[kLanes];
  for (int k = 0; k < kLanes; ++k) {
    min[k] = max[k] = xt[0][k];
    sum_w[k] = wt[0][k];
    sum_x[k] = wt[0][k] * xt[0][k];
  }
  for (int i = 1; i < n; ++i) {
    for (int k = 0; k < kLanes; ++k) {
      const float x = xt[i][k];
      min[k] = x < min[k] ? x : min[k];
      max[k] = x > max[k] ? x : max[k];
      sum_w[k] += wt[i][k];
      sum_x[k] += wt[i][k] * x;
    }
  }
  const float fmax = static_cast<float>(nmax);
  // Error measure: |diff| * |diff| is diff * diff to the bit, so one product
  // with a loop-invariant factor covers both (and vectorizes).
  const float mad = use_mad ? 1.0f : 0.0f;
  const auto error_of = [mad](float diff) {
    const float ad = std::fabs(diff);
    return ad * (mad + (1.0f - mad) * ad);
  };
  int32_t flat[kLanes];  // max == min once min <= 0: all levels 0 at scale 0
  float first_iscale[kLanes];
  for (int k = 0; k < kLanes; ++k) {
    min[k] = min[k] > 0 ? 0 : min[k];
    flat[k] = max[k] == min[k];
    first_iscale[k] = fmax / (max[k] - min[k]);
    scale[k] = 1 / first_iscale[k];
  }
  float best_error[kLanes] = {};
  float levels[32][kLanes];
  float chosen[32][kLanes];
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < kLanes; ++k) {
      const float l = std::max(
          0.0f, std::min(fmax, nearest_int_as_float(first_iscale[k] * (xt[i][k] - min[k]))));
      chosen[i][k] = l;
      best_error[k] += wt[i][k] * error_of(scale[k] * l + min[k] - xt[i][k]);
    }
  }
  for (int is = 0; is <= nstep; ++is) {
    const float numerator = rmin + rdelta * static_cast<float>(is) + fmax;
    float iscale[kLanes];
    float sum_l[kLanes] = {};
    float sum_l2[kLanes] = {};
    float sum_xl[kLanes] = {};
    for (int k = 0; k < kLanes; ++k) iscale[k] = numerator / (max[k] - min[k]);
    for (int i = 0; i < n; ++i) {
      for (int k = 0; k < kLanes; ++k) {
        const float x = xt[i][k];
        const float w = wt[i][k];
        const float l =
            std::max(0.0f, std::min(fmax, nearest_int_as_float(iscale[k] * (x - min[k]))));
        levels[i][k] = l;
        sum_l[k] += w * l;
        sum_l2[k] += w * l * l;
        sum_xl[k] += w * l * x;
      }
    }
    // Lanes with D <= 0 may hold inf/NaN here; they are never chosen.
    float det[kLanes];
    float this_scale[kLanes];
    float this_min[kLanes];
    for (int k = 0; k < kLanes; ++k) {
      det[k] = sum_w[k] * sum_l2[k] - sum_l[k] * sum_l[k];
      this_scale[k] = (sum_w[k] * sum_xl[k] - sum_x[k] * sum_l[k]) / det[k];
      this_min[k] = (sum_l2[k] * sum_x[k] - sum_l[k] * sum_xl[k]) / det[k];
    }
    for (int k = 0; k < kLanes; ++k) {  // a positive min is clamped to 0 and the scale refitted
      const float scale_no_min = sum_xl[k] / sum_l2[k];
      const int32_t clamp = this_min[k] > 0;
      this_scale[k] = clamp ? scale_no_min : this_scale[k];
      this_min[k] = clamp ? 0.0f : this_min[k];
    }
    float error[kLanes] = {};
    for (int i = 0; i < n; ++i) {
      for (int k = 0; k < kLanes; ++k) {
        error[k] += wt[i][k] * error_of(this_scale[k] * levels[i][k] + this_min[k] - xt[i][k]);
      }
    }
    int32_t better[kLanes];  // a bool per lane, as wide as a float so selects vectorize
    for (int k = 0; k < kLanes; ++k) {
      better[k] = (det[k] > 0) & (error[k] < best_error[k]);
      best_error[k] = better[k] ? error[k] : best_error[k];
      scale[k] = better[k] ? this_scale[k] : scale[k];
      min[k] = better[k] ? this_min[k] : min[k];
    }
    for (int i = 0; i < n; ++i) {
      for (int k = 0; k < kLanes; ++k) chosen[i][k] = better[k] ? levels[i][k] : chosen[i][k];
    }
  }
  for (int k = 0; k < kLanes; ++k) {
    scale[k] = flat[k] ? 0.0f : scale[k];
    the_min[k] = -min[k];
  }
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < kLanes; ++k) Lt[i][k] = static_cast<uint8_t>(flat[k] ? 0.0f : chosen[i][k]);
  }
}

// Lane k of xt gets sub-block k (n floats from x + k * n) for k < count;
// the other lanes get zeros (an all-zero sub-block quantizes to zeros).
void to_lanes(const float* x, int n, int count, float xt[][kLanes]) {
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < kLanes; ++k) xt[i][k] = k < count ? x[k * n + i] : 0.0f;
  }
}

template <typename T>
void from_lanes(const T Lt[][kLanes], int n, int count, T* L) {
  for (int k = 0; k < count; ++k) {
    for (int i = 0; i < n; ++i) L[k * n + i] = Lt[i][k];
  }
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
// every level re-rounded against the stored values; `pack` stores the levels
// L[QK_K] into the block. Two blocks (16 sub-blocks) are searched at a time.
template <typename Block, typename Pack>
void quantize_scale_min_k4_row(const float* src, Block* y, int64_t n_blocks, int nmax, float rmin,
                               float rdelta, int nstep, Pack pack) {
  constexpr int kBlocks = kLanes / (QK_K / 32);
  for (int64_t first = 0; first < n_blocks; first += kBlocks) {
    const int count = static_cast<int>(std::min<int64_t>(kBlocks, n_blocks - first));
    const float* x = src + first * QK_K;
    float xt[32][kLanes];
    float wt[32][kLanes];
    to_lanes(x, 32, count * (QK_K / 32), xt);
    // Weights av_x + |x|, av_x the sub-block's RMS.
    float sum_x2[kLanes] = {};
    for (int i = 0; i < 32; ++i) {
      for (int k = 0; k < kLanes; ++k) sum_x2[k] += xt[i][k] * xt[i][k];
    }
    float av_x[kLanes];
    for (int k = 0; k < kLanes; ++k) av_x[k] = std::sqrt(sum_x2[k] / 32);
    for (int i = 0; i < 32; ++i) {
      for (int k = 0; k < kLanes; ++k) wt[i][k] = av_x[k] + std::fabs(xt[i][k]);
    }
    uint8_t Lt[32][kLanes];
    float all_scales[kLanes];
    float all_mins[kLanes];
    make_qkx2_quants_lanes(32, nmax, xt, wt, Lt, all_scales, all_mins, rmin, rdelta, nstep, false);
    uint8_t all_L[kBlocks * QK_K];
    from_lanes(Lt, 32, count * (QK_K / 32), all_L);
    for (int b = 0; b < count; ++b) {
      const float* xb = x + b * QK_K;
      Block& yb = y[first + b];
      uint8_t* L = all_L + b * QK_K;
      const float* scales = all_scales + b * (QK_K / 32);
      const float* mins = all_mins + b * (QK_K / 32);
      float max_scale = 0.0f;  // scales and mins are never negative here
      float max_min = 0.0f;
      for (int j = 0; j < QK_K / 32; ++j) {
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
      pack_scale_min_k4(ls, lm, yb.scales);
      yb.d = fp32_to_fp16(max_scale / 63.0f);
      yb.dmin = fp32_to_fp16(max_min / 63.0f);
      const float fmax = static_cast<float>(nmax);
      for (int j = 0; j < QK_K / 32; ++j) {
        const ScaleMin sm = get_scale_min_k4(j, yb.scales);
        const float d = fp16_to_fp32(yb.d) * static_cast<float>(sm.scale);
        if (d == 0.0f) continue;
        const float dm = fp16_to_fp32(yb.dmin) * static_cast<float>(sm.min);
        for (int ii = 0; ii < 32; ++ii) {
          const float l = nearest_int_as_float((xb[32 * j + ii] + dm) / d);
          L[32 * j + ii] = static_cast<uint8_t>(std::max(0.0f, std::min(fmax, l)));
        }
      }
      pack(L, yb);
    }
  }
}

}  // namespace

void quantize_q2_K(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<block_q2_K*>(dst);
  constexpr float q4scale = 15.0f;
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float* x = src + i * QK_K;
    float xt[16][kLanes];
    float wt[16][kLanes];  // weights |x|
    to_lanes(x, 16, QK_K / 16, xt);
    for (int l = 0; l < 16; ++l) {
      for (int k = 0; k < kLanes; ++k) wt[l][k] = std::fabs(xt[l][k]);
    }
    uint8_t Lt[16][kLanes];
    float mins[QK_K / 16];
    float scales[QK_K / 16];
    make_qkx2_quants_lanes(16, 3, xt, wt, Lt, scales, mins, -0.5f, 0.1f, 15, true);
    uint8_t L[QK_K];
    from_lanes(Lt, 16, QK_K / 16, L);
    float max_scale = 0.0f;
    float max_min = 0.0f;
    for (int j = 0; j < QK_K / 16; ++j) {
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
  quantize_scale_min_k4_row(src, static_cast<block_q4_K*>(dst), n / QK_K, 15, -1.0f, 0.1f, 20,
                            [](const uint8_t* L, block_q4_K& y) {
                              for (int j = 0; j < QK_K; j += 64) {
                                for (int l = 0; l < 32; ++l) {
                                  y.qs[j / 2 + l] =
                                      static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 4));
                                }
                              }
                            });
}

void quantize_q5_K(const float* src, void* dst, int64_t n) {
  quantize_scale_min_k4_row(src, static_cast<block_q5_K*>(dst), n / QK_K, 31, -0.5f, 0.1f, 15,
                            [](const uint8_t* L, block_q5_K& y) {
                              std::memset(y.qh, 0, sizeof(y.qh));
                              for (int j = 0; j < QK_K; j += 64) {
                                const int pair = j / 64;
                                for (int l = 0; l < 32; ++l) {
                                  const int lo = L[j + l];
                                  const int hi = L[j + l + 32];
                                  if (lo > 15) y.qh[l] |= static_cast<uint8_t>(1u << (2 * pair));
                                  if (hi > 15) y.qh[l] |= static_cast<uint8_t>(2u << (2 * pair));
                                  y.qs[j / 2 + l] =
                                      static_cast<uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
                                }
                              }
                            });
}

void quantize_q6_K(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<block_q6_K*>(dst);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float* x = src + i * QK_K;
    float xt[16][kLanes];
    to_lanes(x, 16, QK_K / 16, xt);
    int8_t Lt[16][kLanes];
    float scales[QK_K / 16];
    make_qx_quants_lanes(16, 32, xt, Lt, scales);
    int8_t L[QK_K];
    from_lanes(Lt, 16, QK_K / 16, L);
    float max_scale = 0.0f;
    float max_abs_scale = 0.0f;
    for (int ib = 0; ib < QK_K / 16; ++ib) {
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
        const float l = nearest_int_as_float(x[16 * j + ii] / d);
        L[16 * j + ii] = static_cast<int8_t>(std::max(-32.0f, std::min(31.0f, l)) + 32.0f);
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
