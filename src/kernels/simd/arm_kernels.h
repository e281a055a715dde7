// aarch64 kernels, one source for both ARM tables. Included once by each
// src/kernels/simd/arm_<isa>.cpp, which first defines:
//   FLASHSLIM_DOTPROD   0 (NEON: smull, pairwise adds) or 1 (sdot, armv8.2-a+dotprod)
//   FLASHSLIM_ISA_NS    the namespace of this copy, e.g. neon
//
// The integer dot products equal the scalar reference's bit for bit: the
// reference keeps ggml's x86 float order (tensor/x86_float_order.h: int32 lane
// m sums elements 4m..4m+3 of each 32-element chunk, lanes scaled into 8
// float lanes by FMA, summed as hsum_float_8), and these kernels build the
// same int32 lanes (sdot, or smull and two pairwise adds) and the same FMAs.
//
// Float rows (F32, F16, BF16), dequantizers, activation quantizers and row
// operations are the scalar table's.
#include <arm_neon.h>

#include <cmath>
#include <cstdint>

#include "kernels/kernel_table.h"
#include "kernels/simd/isa_tables.h"
#include "tensor/block_formats.h"
#include "tensor/fp16.h"
#include "tensor/k_quant_helpers.h"
#include "tensor/x86_float_order.h"

#if FLASHSLIM_DOTPROD
#pragma GCC push_options
#pragma GCC target("arch=armv8.2-a+dotprod")
#endif

namespace flashslim::simd::FLASHSLIM_ISA_NS {
namespace {

// Activation rows (tokens) that share one unpacked weight block.
constexpr int kTokens = 4;

// Lane m = sum of the int8 products of elements 4m..4m+3 (16 elements). The
// int16 products (|product| <= 2^14) of plain NEON are added pairwise twice.
inline int32x4_t sum4(int8x16_t w, const int8_t* a) {
  const int8x16_t av = vld1q_s8(a);
#if FLASHSLIM_DOTPROD
  return vdotq_s32(vdupq_n_s32(0), w, av);
#else
  const int32x4_t pairs_lo = vpaddlq_s16(vmull_s8(vget_low_s8(w), vget_low_s8(av)));
  const int32x4_t pairs_hi = vpaddlq_s16(vmull_high_s8(w, av));
  return vpaddq_s32(pairs_lo, pairs_hi);
#endif
}

// The reference's 8 float lanes: lane m = fma(d, int lane m, lane m).
struct FloatLanes {
  float32x4_t lo = vdupq_n_f32(0.0f), hi = vdupq_n_f32(0.0f);
  void fma(float d, int32x4_t lanes_lo, int32x4_t lanes_hi) {
    lo = vfmaq_n_f32(lo, vcvtq_f32_s32(lanes_lo), d);
    hi = vfmaq_n_f32(hi, vcvtq_f32_s32(lanes_hi), d);
  }
  float hsum() const {
    float v[8];
    vst1q_f32(v, lo);
    vst1q_f32(v + 4, hi);
    return ref::hsum_lanes(v);
  }
};

inline int8x16_t low_nibbles(uint8x16_t v) {
  return vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(0x0F)));
}
inline int8x16_t high_nibbles(uint8x16_t v) { return vreinterpretq_s8_u8(vshrq_n_u8(v, 4)); }

// Byte j = 0x10 if bit j of the 16-bit little-endian word at p is set, else 0.
inline int8x16_t bits_to_0x10_bytes(const uint8_t* p) {
  const uint8x16_t spread = vcombine_u8(vdup_n_u8(p[0]), vdup_n_u8(p[1]));
  const uint8x16_t bit = vreinterpretq_u8_u64(vdupq_n_u64(0x8040201008040201ull));
  return vreinterpretq_s8_u8(vandq_u8(vtstq_u8(spread, bit), vdupq_n_u8(0x10)));
}

// Byte j = `value` if byte j of `bytes` has bit `shift` set, else 0.
inline int8x16_t bit_to(uint8x16_t bytes, int shift, uint8_t value) {
  const uint8x16_t set = vtstq_u8(bytes, vdupq_n_u8(static_cast<uint8_t>(1u << shift)));
  return vreinterpretq_s8_u8(vandq_u8(set, vdupq_n_u8(value)));
}

// --------------------------------------------- 32-element block types (Q4_0 ...)
// Each type: W (weight block), A (activation block), levels() = the int8
// levels of elements 0..15 and 16..31 as the reference computes them, kMin
// (Q4_1/Q5_1: m_w * s_a added to one float per block with one rounding).

struct Q4_0 {
  static constexpr bool kMin = false;  // m_w * s_a per block
  using W = block_q4_0;
  using A = block_q8_0;
  static void levels(const W& b, int8x16_t& lo, int8x16_t& hi) {
    const uint8x16_t q = vld1q_u8(b.qs);
    lo = vsubq_s8(low_nibbles(q), vdupq_n_s8(8));
    hi = vsubq_s8(high_nibbles(q), vdupq_n_s8(8));
  }
};

struct Q4_1 {
  static constexpr bool kMin = true;  // m_w * s_a per block
  using W = block_q4_1;
  using A = block_q8_1;
  static void levels(const W& b, int8x16_t& lo, int8x16_t& hi) {
    const uint8x16_t q = vld1q_u8(b.qs);
    lo = low_nibbles(q);
    hi = high_nibbles(q);
  }
};

struct Q5_0 {
  static constexpr bool kMin = false;  // m_w * s_a per block
  using W = block_q5_0;
  using A = block_q8_0;
  static void levels(const W& b, int8x16_t& lo, int8x16_t& hi) {
    const uint8x16_t q = vld1q_u8(b.qs);
    lo = vsubq_s8(vorrq_s8(low_nibbles(q), bits_to_0x10_bytes(b.qh)), vdupq_n_s8(16));
    hi = vsubq_s8(vorrq_s8(high_nibbles(q), bits_to_0x10_bytes(b.qh + 2)), vdupq_n_s8(16));
  }
};

struct Q5_1 {
  static constexpr bool kMin = true;  // m_w * s_a per block
  using W = block_q5_1;
  using A = block_q8_1;
  static void levels(const W& b, int8x16_t& lo, int8x16_t& hi) {
    const uint8x16_t q = vld1q_u8(b.qs);
    lo = vorrq_s8(low_nibbles(q), bits_to_0x10_bytes(b.qh));
    hi = vorrq_s8(high_nibbles(q), bits_to_0x10_bytes(b.qh + 2));
  }
};

struct Q8_0 {
  static constexpr bool kMin = false;  // m_w * s_a per block
  using W = block_q8_0;
  using A = block_q8_0;
  static void levels(const W& b, int8x16_t& lo, int8x16_t& hi) {
    lo = vld1q_s8(b.qs);
    hi = vld1q_s8(b.qs + 16);
  }
};

// One weight row × n_tokens (<= kTokens) activation rows over nb blocks
// (ref::dot_blocks in quants_legacy.cpp).
template <class T>
void legacy_row(int64_t nb, const uint8_t* w, const uint8_t* act, size_t act_stride, int n_tokens,
                float* y, int64_t y_stride) {
  const auto* x = reinterpret_cast<const typename T::W*>(w);
  FloatLanes acc[kTokens];
  float mins[kTokens] = {};
  for (int64_t i = 0; i < nb; ++i) {
    int8x16_t lo, hi;
    T::levels(x[i], lo, hi);
    const float dw = fp16_to_fp32(x[i].d);
    for (int t = 0; t < n_tokens; ++t) {
      const auto& a = reinterpret_cast<const typename T::A*>(act + t * act_stride)[i];
      acc[t].fma(dw * fp16_to_fp32(a.d), sum4(lo, a.qs), sum4(hi, a.qs + 16));
      if constexpr (T::kMin) mins[t] = std::fma(fp16_to_fp32(x[i].m), fp16_to_fp32(a.s), mins[t]);
    }
  }
  for (int t = 0; t < n_tokens; ++t) y[t * y_stride] = acc[t].hsum() + mins[t];
}

template <class T>
struct Legacy {
  static void row(int64_t cols, const uint8_t* w, const uint8_t* act, size_t act_stride,
                  int n_tokens, float* y, int64_t y_stride) {
    legacy_row<T>(cols / 32, w, act, act_stride, n_tokens, y, y_stride);
  }
};

// Q4_0 in the order of llama.cpp's repacked kernels
// (ref::vec_dot_q4_0_q8_0_repacked): one float chain per output over the
// blocks; the tokens of a row are independent chains.
struct Q4_0Repacked {
  static void row(int64_t cols, const uint8_t* w, const uint8_t* act, size_t act_stride,
                  int n_tokens, float* y, int64_t y_stride) {
    const auto* x = reinterpret_cast<const block_q4_0*>(w);
    float acc[kTokens] = {};
    for (int64_t i = 0; i < cols / QK4_0; ++i) {
      int8x16_t lo, hi;
      Q4_0::levels(x[i], lo, hi);
      const float dw = fp16_to_fp32(x[i].d);
      for (int t = 0; t < n_tokens; ++t) {
        const auto& a = reinterpret_cast<const block_q8_0*>(act + t * act_stride)[i];
        const int32_t sum = vaddvq_s32(vaddq_s32(sum4(lo, a.qs), sum4(hi, a.qs + 16)));
        acc[t] = std::fma(static_cast<float>(sum), dw * fp16_to_fp32(a.d), acc[t]);
      }
    }
    for (int t = 0; t < n_tokens; ++t) y[t * y_stride] = acc[t];
  }
};

// ------------------------------------------------------------------ K-quants
// One super-block unpacked: q[g] = signed levels of elements 16g..16g+15 as
// the reference unpacks them, scale[g] = their scale, min[sb] = the min of
// 32-element sub-block sb (Q4_K, Q5_K).
struct KBlock {
  int8x16_t q[16];
  int16_t scale[16];
  int16_t min[8];
};

// The reference's accumulators (quants_k.cpp): 8 float lanes, and for
// Q4_K/Q5_K 4 float lanes of min terms added as (m0 + m2) + (m1 + m3).
struct KAcc {
  FloatLanes lanes;
  float mins[4] = {};
};

// Int32 lane m (0..7) = over the eight 32-element chunks, the scale of the
// element's 16-element group times the sum of elements 4m..4m+3 of the chunk
// (ref lane_sums): groups 2c and 2c+1 give lanes 0..3 and 4..7.
inline void lane_sums(const KBlock& u, const int8_t* a, int32x4_t& lo, int32x4_t& hi) {
  lo = hi = vdupq_n_s32(0);
  for (int c = 0; c < 8; ++c) {
    lo = vmlaq_n_s32(lo, sum4(u.q[2 * c], a + 32 * c), u.scale[2 * c]);
    hi = vmlaq_n_s32(hi, sum4(u.q[2 * c + 1], a + 32 * c + 16), u.scale[2 * c + 1]);
  }
}

// Q3_K and Q6_K: signed scales per 16 elements, no mins.
template <class Block>
struct ScaleOnlyK {
  using W = Block;
  static constexpr bool kMins = false;
  static void add(KAcc& acc, int32x4_t lo, int32x4_t hi, const KBlock&, const W& x,
                  const block_q8_K& y) {
    acc.lanes.fma(y.d * fp16_to_fp32(x.d), lo, hi);
  }
};

// Q2_K/Q3_K low bits: per 128-element half, 32 bytes of qs; element 32k + l
// of the half is bits 2k..2k+1 of byte l (group 8*half + 2k + l/16).
inline void unpack_crumbs(const uint8_t* qs, KBlock& u) {
  for (int half = 0; half < 2; ++half)
    for (int s = 0; s < 2; ++s) {
      const uint8x16_t v = vld1q_u8(qs + 32 * half + 16 * s);
      for (int k = 0; k < 4; ++k)
        u.q[8 * half + 2 * k + s] = vreinterpretq_s8_u8(
            vandq_u8(vshlq_u8(v, vdupq_n_s8(static_cast<int8_t>(-2 * k))), vdupq_n_u8(3)));
    }
}

struct Q2_K {
  using W = block_q2_K;
  // Levels 0..3; scale (low nibble) and min (high nibble) per 16 elements.
  static void unpack(const W& b, KBlock& u) {
    unpack_crumbs(b.qs, u);
    for (int g = 0; g < 16; ++g) u.scale[g] = b.scales[g] & 0xF;
  }
  static constexpr bool kMins = false;
  // The mins enter the lanes first, lane m holding groups 2m and 2m+1.
  static void add(KAcc& acc, int32x4_t lo, int32x4_t hi, const KBlock&, const W& x,
                  const block_q8_K& y) {
    int32_t mins[8];
    for (int m = 0; m < 8; ++m)
      mins[m] =
          (x.scales[2 * m] >> 4) * y.bsums[2 * m] + (x.scales[2 * m + 1] >> 4) * y.bsums[2 * m + 1];
    acc.lanes.fma(-y.d * fp16_to_fp32(x.dmin), vld1q_s32(mins), vld1q_s32(mins + 4));
    acc.lanes.fma(y.d * fp16_to_fp32(x.d), lo, hi);
  }
};

struct Q3_K : ScaleOnlyK<block_q3_K> {
  // Levels -4..3: the low bits as Q2_K, -4 unless bit 4*half + k of hmask[l].
  static void unpack(const W& b, KBlock& u) {
    unpack_crumbs(b.qs, u);
    const uint8x16_t h[2] = {vld1q_u8(b.hmask), vld1q_u8(b.hmask + 16)};
    for (int half = 0; half < 2; ++half)
      for (int k = 0; k < 4; ++k)
        for (int s = 0; s < 2; ++s) {
          int8x16_t& q = u.q[8 * half + 2 * k + s];
          q = vsubq_s8(vorrq_s8(q, bit_to(h[s], 4 * half + k, 4)), vdupq_n_s8(4));
        }
    int8_t scales[16];
    ref::unpack_q3_K_scales(b.scales, scales);
    for (int g = 0; g < 16; ++g) u.scale[g] = scales[g];
  }
};

// Q4_K and Q5_K: 6-bit scales and mins per 32 elements. ggml adds Q4_K's
// mins in 4 float lanes (pairs of sub-blocks), Q5_K's as one float.
template <class Block, bool kFourMinLanes>
struct ScaleMinK {
  using W = Block;
  static constexpr bool kMins = true;
  // Per 64-element pair, 32 bytes of qs: low nibbles are elements 0..31,
  // high nibbles 32..63.
  static void unpack_nibbles_and_scales(const W& b, KBlock& u) {
    for (int pair = 0; pair < 4; ++pair) {
      const uint8x16_t v0 = vld1q_u8(b.qs + 32 * pair), v1 = vld1q_u8(b.qs + 32 * pair + 16);
      u.q[4 * pair + 0] = low_nibbles(v0);
      u.q[4 * pair + 1] = low_nibbles(v1);
      u.q[4 * pair + 2] = high_nibbles(v0);
      u.q[4 * pair + 3] = high_nibbles(v1);
    }
    for (int sb = 0; sb < 8; ++sb) {
      const ref::ScaleMin sm = ref::get_scale_min_k4(sb, b.scales);
      u.scale[2 * sb] = u.scale[2 * sb + 1] = sm.scale;
      u.min[sb] = sm.min;
    }
  }
  static void add(KAcc& acc, int32x4_t lo, int32x4_t hi, const KBlock& u, const W& x,
                  const block_q8_K& y) {
    int32_t mins[4];
    for (int k = 0; k < 4; ++k) {
      mins[k] = 0;
      for (int sb = 2 * k; sb < 2 * k + 2; ++sb)
        mins[k] += u.min[sb] * (y.bsums[2 * sb] + y.bsums[2 * sb + 1]);
    }
    const float dmin = -y.d * fp16_to_fp32(x.dmin);
    if constexpr (kFourMinLanes) {
      for (int k = 0; k < 4; ++k)
        acc.mins[k] = std::fma(dmin, static_cast<float>(mins[k]), acc.mins[k]);
    } else {
      acc.mins[0] =
          std::fma(dmin, static_cast<float>(mins[0] + mins[1] + mins[2] + mins[3]), acc.mins[0]);
    }
    acc.lanes.fma(y.d * fp16_to_fp32(x.d), lo, hi);
  }
};

struct Q4_K : ScaleMinK<block_q4_K, true> {
  static void unpack(const W& b, KBlock& u) { unpack_nibbles_and_scales(b, u); }
};

struct Q5_K : ScaleMinK<block_q5_K, false> {
  // Nibbles as Q4_K; bit 2*pair of qh[l] adds 16 to the low-nibble element,
  // bit 2*pair+1 to the high-nibble one.
  static void unpack(const W& b, KBlock& u) {
    unpack_nibbles_and_scales(b, u);
    const uint8x16_t h[2] = {vld1q_u8(b.qh), vld1q_u8(b.qh + 16)};
    for (int pair = 0; pair < 4; ++pair)
      for (int k = 0; k < 4; ++k)  // k: low/high nibble (k / 2), bytes 0..15/16..31 (k % 2)
        u.q[4 * pair + k] = vorrq_s8(u.q[4 * pair + k], bit_to(h[k % 2], 2 * pair + k / 2, 16));
  }
};

struct Q6_K : ScaleOnlyK<block_q6_K> {
  // Per 128-element half, 64 bytes of ql and 32 of qh; quarter q (32
  // elements) takes its low 4 bits from ql[l + 32*(q%2)] (low nibble for q < 2,
  // high nibble otherwise) and its top 2 bits from bits 2q of qh[l]; -32.
  static void unpack(const W& b, KBlock& u) {
    const uint8x16_t three = vdupq_n_u8(3);
    for (int half = 0; half < 2; ++half) {
      for (int s = 0; s < 2; ++s) {
        const uint8x16_t l0 = vld1q_u8(b.ql + 64 * half + 16 * s);
        const uint8x16_t l1 = vld1q_u8(b.ql + 64 * half + 32 + 16 * s);
        const uint8x16_t h = vld1q_u8(b.qh + 32 * half + 16 * s);
        const int8x16_t low[4] = {low_nibbles(l0), low_nibbles(l1), high_nibbles(l0),
                                  high_nibbles(l1)};
        const uint8x16_t top[4] = {vandq_u8(h, three), vandq_u8(vshrq_n_u8(h, 2), three),
                                   vandq_u8(vshrq_n_u8(h, 4), three), vshrq_n_u8(h, 6)};
        for (int q = 0; q < 4; ++q)
          u.q[8 * half + 2 * q + s] = vsubq_s8(
              vorrq_s8(low[q], vreinterpretq_s8_u8(vshlq_n_u8(top[q], 4))), vdupq_n_s8(32));
      }
    }
    for (int g = 0; g < 16; ++g) u.scale[g] = b.scales[g];
  }
};

template <class T>
struct KQuant {
  static void row(int64_t cols, const uint8_t* w, const uint8_t* act, size_t act_stride,
                  int n_tokens, float* y, int64_t y_stride) {
    const auto* x = reinterpret_cast<const typename T::W*>(w);
    KAcc acc[kTokens];
    KBlock u;
    for (int64_t i = 0; i < cols / QK_K; ++i) {
      T::unpack(x[i], u);
      for (int t = 0; t < n_tokens; ++t) {
        const block_q8_K& a = reinterpret_cast<const block_q8_K*>(act + t * act_stride)[i];
        int32x4_t lo, hi;
        lane_sums(u, a.qs, lo, hi);
        T::add(acc[t], lo, hi, u, x[i], a);
      }
    }
    for (int t = 0; t < n_tokens; ++t) {
      const float* m = acc[t].mins;
      y[t * y_stride] =
          T::kMins ? acc[t].lanes.hsum() + ((m[0] + m[2]) + (m[1] + m[3])) : acc[t].lanes.hsum();
    }
  }
};

// ------------------------------------------------------ rows -> gemm/vec_dot
// Each weight row against the tokens in groups of kTokens: one unpack of a
// weight block serves the whole group.
template <class K>
void gemm(int64_t cols, int64_t n_rows, int64_t n_tokens, const uint8_t* w, size_t w_stride,
          const uint8_t* act, size_t act_stride, float* y, int64_t y_stride) {
  for (int64_t r = 0; r < n_rows; ++r)
    for (int64_t t = 0; t < n_tokens; t += kTokens)
      K::row(cols, w + r * w_stride, act + t * act_stride, act_stride,
             static_cast<int>(n_tokens - t < kTokens ? n_tokens - t : kTokens),
             y + t * y_stride + r, y_stride);
}

template <class K>
void vec_dot(int64_t n, float* out, const void* w, const void* act) {
  K::row(n, static_cast<const uint8_t*>(w), static_cast<const uint8_t*>(act), 0, 1, out, 0);
}

// The scalar table with the integer dot products of the types above replaced.
KernelTable make_table(const char* name, KernelIsa isa) {
  KernelTable k = scalar_kernel_table();
  k.name = name;
  k.isa = isa;
  auto dots = [&k](GgmlType type, VecDotFn vd, GemmFn mm) {
    TypeKernels& row = k.types[static_cast<size_t>(type)];
    row.vec_dot = vd;
    row.gemm = mm;
  };
  dots(GgmlType::Q4_0, vec_dot<Legacy<Q4_0>>, gemm<Legacy<Q4_0>>);
  k.types[static_cast<size_t>(GgmlType::Q4_0)].gemm_repacked = gemm<Q4_0Repacked>;
  dots(GgmlType::Q4_1, vec_dot<Legacy<Q4_1>>, gemm<Legacy<Q4_1>>);
  dots(GgmlType::Q5_0, vec_dot<Legacy<Q5_0>>, gemm<Legacy<Q5_0>>);
  dots(GgmlType::Q5_1, vec_dot<Legacy<Q5_1>>, gemm<Legacy<Q5_1>>);
  dots(GgmlType::Q8_0, vec_dot<Legacy<Q8_0>>, gemm<Legacy<Q8_0>>);
  dots(GgmlType::Q2_K, vec_dot<KQuant<Q2_K>>, gemm<KQuant<Q2_K>>);
  dots(GgmlType::Q3_K, vec_dot<KQuant<Q3_K>>, gemm<KQuant<Q3_K>>);
  dots(GgmlType::Q4_K, vec_dot<KQuant<Q4_K>>, gemm<KQuant<Q4_K>>);
  dots(GgmlType::Q5_K, vec_dot<KQuant<Q5_K>>, gemm<KQuant<Q5_K>>);
  dots(GgmlType::Q6_K, vec_dot<KQuant<Q6_K>>, gemm<KQuant<Q6_K>>);
  return k;
}

}  // namespace
}  // namespace flashslim::simd::FLASHSLIM_ISA_NS

#if FLASHSLIM_DOTPROD
#pragma GCC pop_options
#endif
