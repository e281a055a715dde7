// x86 kernels, one source for every x86 table. Included once by each
// src/kernels/simd/x86_<isa>.cpp, which first defines:
//   FLASHSLIM_TARGET     the target string, e.g. "avx2,fma,f16c"
//   FLASHSLIM_VNNI       0 (pmaddubsw + pmaddwd), 1 (AVX-VNNI), 2 (AVX512-VNNI + VL)
//   FLASHSLIM_ISA_NS     the namespace of this copy, e.g. avx2
// and FLASHSLIM_TILE_ROWS / FLASHSLIM_TILE_TOKENS, the register tile of the
// matrix kernels (AVX2 has 16 vector registers, AVX-512 32).
//
// All vectors are 256 bits. Everything after the target pragma is in an
// anonymous namespace and uses no standard-library templates, so no inline
// function compiled for this target can be merged with a baseline copy.
//
// Integer dot products pair each weight block with its activation block as
// ggml does: weight levels are made unsigned (level + offset), multiplied by
// the signed int8 activations, and offset * sum(activations) is subtracted.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/kernel_table.h"
#include "tensor/block_formats.h"
#include "tensor/fp16.h"
#include "tensor/k_quant_helpers.h"
#include "tensor/reference_kernels.h"

#define FLASHSLIM_DO_PRAGMA(x) _Pragma(#x)
#if defined(__clang__)
#define FLASHSLIM_TARGET_BEGIN(t) \
  FLASHSLIM_DO_PRAGMA(clang attribute push(__attribute__((target(t))), apply_to = function))
#define FLASHSLIM_TARGET_END FLASHSLIM_DO_PRAGMA(clang attribute pop)
#else
#define FLASHSLIM_TARGET_BEGIN(t) \
  FLASHSLIM_DO_PRAGMA(GCC push_options) FLASHSLIM_DO_PRAGMA(GCC target(t))
#define FLASHSLIM_TARGET_END FLASHSLIM_DO_PRAGMA(GCC pop_options)
#endif

FLASHSLIM_TARGET_BEGIN(FLASHSLIM_TARGET)

namespace flashslim::simd::FLASHSLIM_ISA_NS {
namespace {

constexpr int kRm = FLASHSLIM_TILE_ROWS;
constexpr int kRn = FLASHSLIM_TILE_TOKENS;
constexpr bool kVnni = FLASHSLIM_VNNI != 0;

// ---------------------------------------------------------------- primitives

// acc + sums of 4 adjacent u8 * s8 products per int32 lane. Without VNNI the
// int16 pair sums saturate unless u <= 128 (activations are within ±127).
inline __m256i dot_u8s8(__m256i acc, __m256i u, __m256i s) {
#if FLASHSLIM_VNNI == 2
  return _mm256_dpbusd_epi32(acc, u, s);
#elif FLASHSLIM_VNNI == 1
  return _mm256_dpbusd_avx_epi32(acc, u, s);
#else
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
#endif
}

// acc + sums of 2 adjacent int16 products per int32 lane.
inline __m256i dot_s16(__m256i acc, __m256i a, __m256i b) {
#if FLASHSLIM_VNNI == 2
  return _mm256_dpwssd_epi32(acc, a, b);
#elif FLASHSLIM_VNNI == 1
  return _mm256_dpwssd_avx_epi32(acc, a, b);
#else
  return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b));
#endif
}

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline int32_t hsum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s);
}

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// 16 bytes of nibbles -> 32 bytes: low nibbles first, then high nibbles.
inline __m256i nibbles_to_bytes(const uint8_t* p) {
  const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(q, 4), q);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

// Byte j = 0x10 if bit j of the 32-bit word is set, else 0.
inline __m256i bits_to_0x10_bytes(const uint8_t* p) {
  uint32_t word;
  std::memcpy(&word, p, sizeof(word));
  // Byte j takes word byte j/8, then keeps bit j%8 of it.
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(static_cast<int>(word)),
      _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0));
  const __m256i bit = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
  const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
  return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

// Byte j = `value` if byte j of `bytes` has any bit of `mask` set, else 0.
inline __m256i mask_bit_to(__m256i bytes, uint8_t mask, uint8_t value) {
  const __m256i m = _mm256_set1_epi8(static_cast<char>(mask));
  const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(bytes, m), m);
  return _mm256_and_si256(set, _mm256_set1_epi8(static_cast<char>(value)));
}

// ------------------------------------------- 32-element block types (Q4_0 ...)
// Each type: W (weight block), A (activation block), levels() = unsigned
// weight levels in element order, kOffset (level = unsigned - offset), kMin
// (x = level * d + m; the activation's s carries sum(a) * d_a), kSigned (Q8_0:
// levels are the int8 values themselves).

struct Q4_0 {
  using W = block_q4_0;
  using A = block_q8_0;
  static constexpr int kOffset = 8;
  static constexpr bool kMin = false, kSigned = false;
  static __m256i levels(const W& b) { return nibbles_to_bytes(b.qs); }
};

struct Q4_1 {
  using W = block_q4_1;
  using A = block_q8_1;
  static constexpr int kOffset = 0;
  static constexpr bool kMin = true, kSigned = false;
  static __m256i levels(const W& b) { return nibbles_to_bytes(b.qs); }
};

struct Q5_0 {
  using W = block_q5_0;
  using A = block_q8_0;
  static constexpr int kOffset = 16;
  static constexpr bool kMin = false, kSigned = false;
  static __m256i levels(const W& b) {
    return _mm256_or_si256(nibbles_to_bytes(b.qs), bits_to_0x10_bytes(b.qh));
  }
};

struct Q5_1 {
  using W = block_q5_1;
  using A = block_q8_1;
  static constexpr int kOffset = 0;
  static constexpr bool kMin = true, kSigned = false;
  static __m256i levels(const W& b) {
    return _mm256_or_si256(nibbles_to_bytes(b.qs), bits_to_0x10_bytes(b.qh));
  }
};

struct Q8_0 {
  using W = block_q8_0;
  using A = block_q8_0;
  static constexpr int kOffset = 128;  // used as offset only with VNNI
  static constexpr bool kMin = false, kSigned = true;
  static __m256i levels(const W& b) { return load256(b.qs); }
};

template <class T>
float min_of(const typename T::W& b) {
  if constexpr (T::kMin) return fp16_to_fp32(b.m);
  return 0.0f;
}
template <class T>
float sum_of(const typename T::A& a) {
  if constexpr (T::kMin) return fp16_to_fp32(a.s);
  return 0.0f;
}

// Signed weights without VNNI multiply |w| by sign(w) * a instead (pmaddubsw
// would saturate with offset 128); everything else uses the offset.
template <class T>
constexpr bool kSignTrick = T::kSigned && !kVnni;
template <class T>
constexpr int kEffectiveOffset = kSignTrick<T> ? 0 : T::kOffset;

template <class T>
inline __m256i prepared_levels(const typename T::W& b) {
  const __m256i q = T::levels(b);
  if constexpr (T::kSigned && kVnni) return _mm256_xor_si256(q, _mm256_set1_epi8(-128));
  return q;
}

template <class T>
inline __m256i block_dot(__m256i init, __m256i w, __m256i a) {
  if constexpr (kSignTrick<T>) {
    return dot_u8s8(init, _mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w));
  } else {
    return dot_u8s8(init, w, a);
  }
}

// RM weight rows × RN activation rows over nb blocks.
template <class T, int RM, int RN>
void legacy_tile(int64_t nb, const uint8_t* w, size_t w_stride, const uint8_t* act,
                 size_t act_stride, float* y, int64_t y_stride) {
  using W = typename T::W;
  using A = typename T::A;
  __m256 acc[RM][RN];
  float acc_min[RM][RN];
  for (int r = 0; r < RM; ++r)
    for (int t = 0; t < RN; ++t) {
      acc[r][t] = _mm256_setzero_ps();
      acc_min[r][t] = 0.0f;
    }
  const __m256i offset = _mm256_set1_epi8(static_cast<char>(kEffectiveOffset<T>));
  for (int64_t i = 0; i < nb; ++i) {
    __m256i wq[RM];
    float wd[RM], wm[RM];
    for (int r = 0; r < RM; ++r) {
      const W& b = reinterpret_cast<const W*>(w + r * w_stride)[i];
      wq[r] = prepared_levels<T>(b);
      wd[r] = fp16_to_fp32(b.d);
      wm[r] = min_of<T>(b);
    }
    __m256i aq[RN], init[RN];
    float ad[RN], as[RN];
    for (int t = 0; t < RN; ++t) {
      const A& b = reinterpret_cast<const A*>(act + t * act_stride)[i];
      aq[t] = load256(b.qs);
      ad[t] = fp16_to_fp32(b.d);
      as[t] = sum_of<T>(b);
      // -offset * sum(a), spread over the lanes the products land in.
      init[t] = kEffectiveOffset<T> == 0
                    ? _mm256_setzero_si256()
                    : _mm256_sub_epi32(_mm256_setzero_si256(),
                                       dot_u8s8(_mm256_setzero_si256(), offset, aq[t]));
    }
    for (int r = 0; r < RM; ++r)
      for (int t = 0; t < RN; ++t) {
        const __m256i s = block_dot<T>(init[t], wq[r], aq[t]);
        acc[r][t] =
            _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(wd[r] * ad[t]), acc[r][t]);
        if constexpr (T::kMin)  // one rounding, as ggml's compiled summs += m * s
          acc_min[r][t] = _mm_cvtss_f32(
              _mm_fmadd_ss(_mm_set_ss(wm[r]), _mm_set_ss(as[t]), _mm_set_ss(acc_min[r][t])));
      }
  }
  for (int r = 0; r < RM; ++r)
    for (int t = 0; t < RN; ++t) y[t * y_stride + r] = hsum(acc[r][t]) + acc_min[r][t];
}

template <class T>
struct Legacy {
  static constexpr int kBlock = 32;
  // Rows of 32-element blocks are short (2048 columns: 1152 bytes of Q4_0), so
  // a row tile's 4 rows are 4 streams of a few cache lines each, which the
  // hardware prefetchers hardly pick up; one row at a time reads the weights
  // in one sequential stream. From DRAM (bench gemm_dram) that is ~1.7-1.9x
  // faster; within L2/L3 the tile's 4 independent accumulators would win.
  static constexpr bool kOneRowMatVec = true;
  template <int RM, int RN>
  static void tile(int64_t cols, const uint8_t* w, size_t w_stride, const uint8_t* act,
                   size_t act_stride, float* y, int64_t y_stride) {
    legacy_tile<T, RM, RN>(cols / 32, w, w_stride, act, act_stride, y, y_stride);
  }
  // Exact ggml formulas: level * d (+ m).
  static void to_float(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const typename T::W*>(src);
    for (int64_t i = 0; i < n / 32; ++i) {
      __m256i q = T::levels(x[i]);
      const __m256 d = _mm256_set1_ps(fp16_to_fp32(x[i].d));
      const __m256 m = _mm256_set1_ps(min_of<T>(x[i]));
      const __m256i off = _mm256_set1_epi32(T::kSigned ? 0 : T::kOffset);
      for (int part = 0; part < 4; ++part) {
        const __m128i bytes = part < 2 ? _mm256_castsi256_si128(q) : _mm256_extracti128_si256(q, 1);
        const __m128i eight = part % 2 == 0 ? bytes : _mm_srli_si128(bytes, 8);
        const __m256i wide = T::kSigned ? _mm256_cvtepi8_epi32(eight) : _mm256_cvtepu8_epi32(eight);
        __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(wide, off)), d);
        if constexpr (T::kMin) v = _mm256_add_ps(v, m);
        _mm256_storeu_ps(dst + i * 32 + part * 8, v);
      }
    }
  }
};

// ------------------------------ Q4_0 in the order of llama.cpp's repacked kernels
// ref::vec_dot_q4_0_q8_0_repacked: every output is one float chain, acc =
// fma(float(block sum), d_w * d_a, acc) block after block. One chain is
// latency-bound, so 8 weight rows go together: their block sums are reduced
// into the 8 lanes of one vector (lane = row) and one vector FMA per block and
// token advances 8 independent chains, each in its own order.

// Lane r = the sum of the 8 int32 lanes of v[r].
inline __m256i sum_lanes_per_row(const __m256i v[8]) {
  // Per 128-bit half: pairs, then quads of lanes of rows 0..3 and 4..7.
  const __m256i q0 =
      _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
  const __m256i q1 =
      _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
  return _mm256_add_epi32(_mm256_permute2x128_si256(q0, q1, 0x20),
                          _mm256_permute2x128_si256(q0, q1, 0x31));
}

constexpr int kRepackedRows = 8;
// Blocks per pass over a row group: the group's weight scales of one pass
// are gathered first (one sequential read of each row, which also brings the
// rows into cache for the dot products), 4 KiB of f16.
constexpr int64_t kRepackedBlocks = 256;

// n_rows (1..8) weight rows × RN tokens; missing rows repeat the last one and
// are not stored.
template <int RN>
void q4_0_repacked_tile(int64_t nb, const uint8_t* w, size_t w_stride, int n_rows,
                        const uint8_t* act, size_t act_stride, float* y, int64_t y_stride) {
  const block_q4_0* rows[kRepackedRows];
  for (int r = 0; r < kRepackedRows; ++r)
    rows[r] = reinterpret_cast<const block_q4_0*>(w + (r < n_rows ? r : n_rows - 1) * w_stride);
  const __m256i offset = _mm256_set1_epi8(static_cast<char>(Q4_0::kOffset));
  __m256 acc[RN];
  for (int t = 0; t < RN; ++t) acc[t] = _mm256_setzero_ps();
  alignas(32) f16_t scales[kRepackedBlocks * kRepackedRows];  // [block][row]
  for (int64_t i0 = 0; i0 < nb; i0 += kRepackedBlocks) {
    const int64_t n_blocks = nb - i0 < kRepackedBlocks ? nb - i0 : kRepackedBlocks;
    for (int r = 0; r < kRepackedRows; ++r)
      for (int64_t i = 0; i < n_blocks; ++i) scales[i * kRepackedRows + r] = rows[r][i0 + i].d;
    for (int64_t i = 0; i < n_blocks; ++i) {
      __m256i wq[kRepackedRows];
      for (int r = 0; r < kRepackedRows; ++r) wq[r] = Q4_0::levels(rows[r][i0 + i]);
      const __m256 wd = _mm256_cvtph_ps(
          _mm_load_si128(reinterpret_cast<const __m128i*>(scales + i * kRepackedRows)));
      for (int t = 0; t < RN; ++t) {
        const block_q8_0& a = reinterpret_cast<const block_q8_0*>(act + t * act_stride)[i0 + i];
        const __m256i aq = load256(a.qs);
        // -offset * sum(a), spread over the lanes the products land in.
        const __m256i init =
            _mm256_sub_epi32(_mm256_setzero_si256(), dot_u8s8(_mm256_setzero_si256(), offset, aq));
        __m256i sums[kRepackedRows];
        for (int r = 0; r < kRepackedRows; ++r) sums[r] = block_dot<Q4_0>(init, wq[r], aq);
        acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum_lanes_per_row(sums)),
                                 _mm256_mul_ps(wd, _mm256_set1_ps(fp16_to_fp32(a.d))), acc[t]);
      }
    }
  }
  for (int t = 0; t < RN; ++t) {
    if (n_rows == kRepackedRows) {
      _mm256_storeu_ps(y + t * y_stride, acc[t]);
    } else {
      alignas(32) float lanes[kRepackedRows];
      _mm256_store_ps(lanes, acc[t]);
      for (int r = 0; r < n_rows; ++r) y[t * y_stride + r] = lanes[r];
    }
  }
}

void q4_0_repacked_gemm(int64_t cols, int64_t n_rows, int64_t n_tokens, const uint8_t* w,
                        size_t w_stride, const uint8_t* act, size_t act_stride, float* y,
                        int64_t y_stride) {
  const int64_t nb = cols / QK4_0;
  for (int64_t r = 0; r < n_rows; r += kRepackedRows) {
    const int rows = static_cast<int>(n_rows - r < kRepackedRows ? n_rows - r : kRepackedRows);
    const uint8_t* wr = w + r * w_stride;
    int64_t t = 0;
    for (; t + kRn <= n_tokens; t += kRn)
      q4_0_repacked_tile<kRn>(nb, wr, w_stride, rows, act + t * act_stride, act_stride,
                              y + t * y_stride + r, y_stride);
    for (; t < n_tokens; ++t)
      q4_0_repacked_tile<1>(nb, wr, w_stride, rows, act + t * act_stride, act_stride,
                            y + t * y_stride + r, y_stride);
  }
}

// ------------------------------------------------------------------ K-quants
// One super-block of one weight row, unpacked for the dot products:
// q[c] = unsigned levels of elements 32c..32c+31, sc[c] = int16 scale of each
// element pair (per 16-element sub-block), and the int16 lanes j of scale16 and
// min16 per 16-element sub-block j. x = (d * scale) * (q - kOffset) - (dmin * min).
// Unpacking is all vector work: in decode every weight super-block is
// unpacked once per token, so it costs as much as the dot products.
struct KRow {
  __m256i q[8];
  __m256i sc[8];
  __m256i coef;  // per sub-block: min (min types) or kOffset * scale (offset types)
  __m256i scale16, min16;
  float d, dmin;
};

// How ggml's AVX2 kernel of each type adds the min terms (dmin * min *
// activation sum), which decides the float rounding: Q2_K into the 8 lanes
// before the levels, Q4_K into 4 lanes of min pairs summed at the end, Q5_K
// into one float per block.
enum class KMins { None, EightLanes, FourLanes, OneFloat };

// Int16 lane k of a 128-bit half, broadcast over the half (a pshufb mask).
inline __m128i int16_lane_mask(int k) {
  return _mm_set1_epi16(static_cast<int16_t>((2 * k) | ((2 * k + 1) << 8)));
}

inline void set_scales(KRow& u, __m256i scale16, __m256i min16, int offset) {
  u.scale16 = scale16;
  u.min16 = min16;
  // Sub-blocks 2c and 2c+1 are int16 lanes of the low (c < 4) or high half.
  const __m256i lo = _mm256_permute2x128_si256(scale16, scale16, 0x00);
  const __m256i hi = _mm256_permute2x128_si256(scale16, scale16, 0x11);
  for (int c = 0; c < 8; ++c) {
    const int k = (2 * c) % 8;
    const __m256i mask = _mm256_set_m128i(int16_lane_mask(k + 1), int16_lane_mask(k));
    u.sc[c] = _mm256_shuffle_epi8(c < 4 ? lo : hi, mask);
  }
  u.coef = offset == 0
               ? min16
               : _mm256_mullo_epi16(scale16, _mm256_set1_epi16(static_cast<int16_t>(offset)));
}

// 16 bytes -> 16 int16 lanes.
inline __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
inline __m256i widen_u8(__m128i v) { return _mm256_cvtepu8_epi16(v); }
inline __m256i widen_s8(__m128i v) { return _mm256_cvtepi8_epi16(v); }

// Unsigned 2-bit fields k = 0..3 of 32 bytes, and the 4-bit nibbles.
inline __m256i crumb(__m256i v, int k) {
  return _mm256_and_si256(_mm256_srli_epi16(v, 2 * k), _mm256_set1_epi8(3));
}
inline __m256i low_nibbles(__m256i v) { return _mm256_and_si256(v, _mm256_set1_epi8(0x0F)); }
inline __m256i high_nibbles(__m256i v) {
  return _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0F));
}

struct Q2_K {
  using W = block_q2_K;
  static constexpr int kOffset = 0;
  static constexpr KMins kMins = KMins::EightLanes;
  static void unpack(const W& b, KRow& u) {
    for (int half = 0; half < 2; ++half) {
      const __m256i v = load256(b.qs + 32 * half);
      for (int k = 0; k < 4; ++k) u.q[4 * half + k] = crumb(v, k);
    }
    const __m128i packed = load128(b.scales);
    const __m128i low4 = _mm_set1_epi8(0x0F);
    set_scales(u, widen_u8(_mm_and_si128(packed, low4)),
               widen_u8(_mm_and_si128(_mm_srli_epi16(packed, 4), low4)), kOffset);
    u.d = fp16_to_fp32(b.d);
    u.dmin = fp16_to_fp32(b.dmin);
  }
};

struct Q3_K {
  using W = block_q3_K;
  static constexpr int kOffset = 4;
  static constexpr KMins kMins = KMins::None;
  static void unpack(const W& b, KRow& u) {
    const __m256i hm = load256(b.hmask);
    for (int half = 0; half < 2; ++half) {
      const __m256i v = load256(b.qs + 32 * half);
      for (int k = 0; k < 4; ++k) {
        const uint8_t mask = static_cast<uint8_t>(1u << (4 * half + k));
        u.q[4 * half + k] = _mm256_or_si256(crumb(v, k), mask_bit_to(hm, mask, 4));
      }
    }
    int8_t scales[16];
    ref::unpack_q3_K_scales(b.scales, scales);
    set_scales(u, widen_s8(load128(scales)), _mm256_setzero_si256(), kOffset);
    u.d = fp16_to_fp32(b.d);
    u.dmin = 0.0f;
  }
};

// The 8 six-bit scales and mins of Q4_K/Q5_K (layout in ref::get_scale_min_k4),
// each repeated for both 16-element halves of its 32-element sub-block.
inline void unpack_k4_scales(const uint8_t packed[12], KRow& u, int offset) {
  uint32_t w[3];
  std::memcpy(w, packed, sizeof(w));
  const uint32_t six = 0x3f3f3f3f, four = 0x0f0f0f0f, top2 = 0x03030303;
  // Sub-blocks 0..3: low 6 bits of bytes 0..3 (scales) and 4..7 (mins);
  // 4..7: low nibble of bytes 8..11 (scales) or high nibble (mins), top two
  // bits from bits 6..7 of bytes 0..3 (scales) or 4..7 (mins).
  const uint32_t scales_lo = w[0] & six;
  const uint32_t scales_hi = (w[2] & four) | (((w[0] >> 6) & top2) << 4);
  const uint32_t mins_lo = w[1] & six;
  const uint32_t mins_hi = ((w[2] >> 4) & four) | (((w[1] >> 6) & top2) << 4);
  const __m128i bytes = _mm_setr_epi32(static_cast<int>(scales_lo), static_cast<int>(scales_hi),
                                       static_cast<int>(mins_lo), static_cast<int>(mins_hi));
  const __m128i twice_scales =
      _mm_shuffle_epi8(bytes, _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7));
  const __m128i twice_mins = _mm_shuffle_epi8(
      bytes, _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15));
  set_scales(u, widen_u8(twice_scales), widen_u8(twice_mins), offset);
}

struct Q4_K {
  using W = block_q4_K;
  static constexpr int kOffset = 0;
  static constexpr KMins kMins = KMins::FourLanes;
  static void unpack(const W& b, KRow& u) {
    for (int pair = 0; pair < 4; ++pair) {
      const __m256i v = load256(b.qs + 32 * pair);
      u.q[2 * pair] = low_nibbles(v);
      u.q[2 * pair + 1] = high_nibbles(v);
    }
    unpack_k4_scales(b.scales, u, kOffset);
    u.d = fp16_to_fp32(b.d);
    u.dmin = fp16_to_fp32(b.dmin);
  }
};

struct Q5_K {
  using W = block_q5_K;
  static constexpr int kOffset = 0;
  static constexpr KMins kMins = KMins::OneFloat;
  static void unpack(const W& b, KRow& u) {
    const __m256i qh = load256(b.qh);
    for (int pair = 0; pair < 4; ++pair) {
      const __m256i v = load256(b.qs + 32 * pair);
      const auto lo_bit = static_cast<uint8_t>(1u << (2 * pair));
      const auto hi_bit = static_cast<uint8_t>(1u << (2 * pair + 1));
      u.q[2 * pair] = _mm256_or_si256(low_nibbles(v), mask_bit_to(qh, lo_bit, 16));
      u.q[2 * pair + 1] = _mm256_or_si256(high_nibbles(v), mask_bit_to(qh, hi_bit, 16));
    }
    unpack_k4_scales(b.scales, u, kOffset);
    u.d = fp16_to_fp32(b.d);
    u.dmin = fp16_to_fp32(b.dmin);
  }
};

struct Q6_K {
  using W = block_q6_K;
  static constexpr int kOffset = 32;
  static constexpr KMins kMins = KMins::None;
  static void unpack(const W& b, KRow& u) {
    const __m256i m4 = _mm256_set1_epi8(0x30);
    for (int half = 0; half < 2; ++half) {
      const __m256i v0 = load256(b.ql + 64 * half);
      const __m256i v1 = load256(b.ql + 64 * half + 32);
      const __m256i h = load256(b.qh + 32 * half);
      // Bits 2q..2q+1 of qh move to bits 4..5.
      u.q[4 * half + 0] =
          _mm256_or_si256(low_nibbles(v0), _mm256_and_si256(_mm256_slli_epi16(h, 4), m4));
      u.q[4 * half + 1] =
          _mm256_or_si256(low_nibbles(v1), _mm256_and_si256(_mm256_slli_epi16(h, 2), m4));
      u.q[4 * half + 2] = _mm256_or_si256(high_nibbles(v0), _mm256_and_si256(h, m4));
      u.q[4 * half + 3] =
          _mm256_or_si256(high_nibbles(v1), _mm256_and_si256(_mm256_srli_epi16(h, 2), m4));
    }
    set_scales(u, widen_s8(load128(b.scales)), _mm256_setzero_si256(), kOffset);
    u.d = fp16_to_fp32(b.d);
    u.dmin = 0.0f;
  }
};

// The float order is ggml's AVX2 one (see ref::vec_dot_q4_K_q8_K): int32
// lane m holds elements 4m..4m+3 of each 32-element chunk, offsets removed
// per lane in int16 as ggml does, and gets d * lane added by FMA per block.
template <class T, int RM, int RN>
void k_tile(int64_t nb, const uint8_t* w, size_t w_stride, const uint8_t* act, size_t act_stride,
            float* y, int64_t y_stride) {
  using W = typename T::W;
  __m256 acc[RM][RN];
  __m128 acc_min[RM][RN];
  for (int r = 0; r < RM; ++r)
    for (int t = 0; t < RN; ++t) {
      acc[r][t] = _mm256_setzero_ps();
      acc_min[r][t] = _mm_setzero_ps();
    }
  KRow u[RM];
  for (int64_t i = 0; i < nb; ++i) {
    for (int r = 0; r < RM; ++r) T::unpack(reinterpret_cast<const W*>(w + r * w_stride)[i], u[r]);
    const block_q8_K* a[RN];
    for (int t = 0; t < RN; ++t)
      a[t] = reinterpret_cast<const block_q8_K*>(act + t * act_stride) + i;
    __m256i isum[RM][RN];
    for (int r = 0; r < RM; ++r)
      for (int t = 0; t < RN; ++t) isum[r][t] = _mm256_setzero_si256();
    for (int c = 0; c < 8; ++c) {
      __m256i aq[RN], off[RN];
      for (int t = 0; t < RN; ++t) {
        aq[t] = load256(a[t]->qs + 32 * c);
        if constexpr (T::kOffset != 0)
          off[t] = _mm256_maddubs_epi16(_mm256_set1_epi8(T::kOffset), aq[t]);
      }
      for (int r = 0; r < RM; ++r) {
        const __m256i q = u[r].q[c];
        for (int t = 0; t < RN; ++t) {
          __m256i p = _mm256_maddubs_epi16(q, aq[t]);
          if constexpr (T::kOffset != 0) p = _mm256_sub_epi16(p, off[t]);
          isum[r][t] = dot_s16(isum[r][t], p, u[r].sc[c]);
        }
      }
    }
    for (int t = 0; t < RN; ++t) {
      const __m256i bsums = load256(a[t]->bsums);
      for (int r = 0; r < RM; ++r) {
        if constexpr (T::kMins != KMins::None) {
          const __m256i mins = _mm256_madd_epi16(bsums, u[r].coef);
          const float dmin = -a[t]->d * u[r].dmin;
          if constexpr (T::kMins == KMins::EightLanes) {
            acc[r][t] = _mm256_fmadd_ps(_mm256_set1_ps(dmin), _mm256_cvtepi32_ps(mins), acc[r][t]);
          } else if constexpr (T::kMins == KMins::FourLanes) {
            const __m128i pairs =
                _mm_hadd_epi32(_mm256_castsi256_si128(mins), _mm256_extracti128_si256(mins, 1));
            acc_min[r][t] = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(pairs), acc_min[r][t]);
          } else {
            acc_min[r][t] = _mm_fmadd_ss(_mm_set_ss(dmin),
                                         _mm_set_ss(static_cast<float>(hsum(mins))), acc_min[r][t]);
          }
        }
        const float d = a[t]->d * u[r].d;
        acc[r][t] = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(isum[r][t]), acc[r][t]);
      }
    }
  }
  for (int r = 0; r < RM; ++r)
    for (int t = 0; t < RN; ++t) {
      __m128 m = acc_min[r][t];
      m = _mm_add_ps(m, _mm_movehl_ps(m, m));
      m = _mm_add_ss(m, _mm_movehdup_ps(m));
      y[t * y_stride + r] = hsum(acc[r][t]) + _mm_cvtss_f32(m);
    }
}

template <class T>
struct KQuant {
  // A row tile's unpacked super-blocks (KRow) do not fit in registers: with
  // one token to share them with, one row at a time is ~1.5-2x faster.
  static constexpr bool kOneRowMatVec = true;
  template <int RM, int RN>
  static void tile(int64_t cols, const uint8_t* w, size_t w_stride, const uint8_t* act,
                   size_t act_stride, float* y, int64_t y_stride) {
    k_tile<T, RM, RN>(cols / QK_K, w, w_stride, act, act_stride, y, y_stride);
  }
  static void to_float(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const typename T::W*>(src);
    KRow u;
    const __m256i off = _mm256_set1_epi32(T::kOffset);
    alignas(32) int16_t scale16[16], min16[16];
    for (int64_t i = 0; i < n / QK_K; ++i) {
      T::unpack(x[i], u);
      _mm256_store_si256(reinterpret_cast<__m256i*>(scale16), u.scale16);
      _mm256_store_si256(reinterpret_cast<__m256i*>(min16), u.min16);
      for (int j = 0; j < 16; ++j) {
        const __m256 dl = _mm256_set1_ps(u.d * static_cast<float>(scale16[j]));
        const __m256 ml = _mm256_set1_ps(u.dmin * static_cast<float>(min16[j]));
        const __m128i bytes = (j % 2 == 0) ? _mm256_castsi256_si128(u.q[j / 2])
                                           : _mm256_extracti128_si256(u.q[j / 2], 1);
        for (int part = 0; part < 2; ++part) {
          const __m128i eight = part == 0 ? bytes : _mm_srli_si128(bytes, 8);
          const __m256i lev = _mm256_sub_epi32(_mm256_cvtepu8_epi32(eight), off);
          const __m256 v = _mm256_sub_ps(_mm256_mul_ps(dl, _mm256_cvtepi32_ps(lev)), ml);
          _mm256_storeu_ps(dst + i * QK_K + 16 * j + 8 * part, v);
        }
      }
    }
  }
};

// ------------------------------------------------------------ float rows
// Products in f32, summed in f32 lanes (ggml sums in double; this differs only
// by summation order and rounding of the partial sums).
inline __m256 load8_f16(const f16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline __m256 load8_bf16(const bf16_t* p) {
  const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}
inline __m256 load8_f32(const float* p) { return _mm256_loadu_ps(p); }

struct F32Row {
  using E = float;
  static __m256 load8(const E* p) { return load8_f32(p); }
  static float scalar(E v) { return v; }
};
struct F16Row {
  using E = f16_t;
  static __m256 load8(const E* p) { return load8_f16(p); }
  static float scalar(E v) { return fp16_to_fp32(v); }
};
struct BF16Row {
  using E = bf16_t;
  static __m256 load8(const E* p) { return load8_bf16(p); }
  static float scalar(E v) { return bf16_to_fp32(v); }
};

// Any n (no block size); RM rows × RN tokens.
template <class F, int RM, int RN>
void float_tile(int64_t n, const uint8_t* w, size_t w_stride, const uint8_t* act, size_t act_stride,
                float* y, int64_t y_stride) {
  using E = typename F::E;
  __m256 acc[RM][RN];
  for (int r = 0; r < RM; ++r)
    for (int t = 0; t < RN; ++t) acc[r][t] = _mm256_setzero_ps();
  const int64_t n8 = n & ~int64_t{7};
  for (int64_t i = 0; i < n8; i += 8) {
    __m256 av[RN];
    for (int t = 0; t < RN; ++t)
      av[t] = F::load8(reinterpret_cast<const E*>(act + t * act_stride) + i);
    for (int r = 0; r < RM; ++r) {
      const __m256 wv = F::load8(reinterpret_cast<const E*>(w + r * w_stride) + i);
      for (int t = 0; t < RN; ++t) acc[r][t] = _mm256_fmadd_ps(wv, av[t], acc[r][t]);
    }
  }
  for (int r = 0; r < RM; ++r)
    for (int t = 0; t < RN; ++t) {
      float s = hsum(acc[r][t]);
      const E* wr = reinterpret_cast<const E*>(w + r * w_stride);
      const E* at = reinterpret_cast<const E*>(act + t * act_stride);
      for (int64_t i = n8; i < n; ++i) s += F::scalar(wr[i]) * F::scalar(at[i]);
      y[t * y_stride + r] = s;
    }
}

template <class F>
struct FloatRow {
  static constexpr bool kOneRowMatVec = false;
  template <int RM, int RN>
  static void tile(int64_t cols, const uint8_t* w, size_t w_stride, const uint8_t* act,
                   size_t act_stride, float* y, int64_t y_stride) {
    float_tile<F, RM, RN>(cols, w, w_stride, act, act_stride, y, y_stride);
  }
};

// ------------------------------------------------------ tiles -> gemm/vec_dot
// Rows in tiles of kRm (then one at a time), tokens in tiles of kRn (then the
// remainder in one smaller tile); each weight tile is used for all tokens
// while it is in L1.
template <class K, int RM>
void gemm_rows(int64_t cols, int64_t n_tokens, const uint8_t* w, size_t w_stride,
               const uint8_t* act, size_t act_stride, float* y, int64_t y_stride) {
  int64_t t = 0;
  for (; t + kRn <= n_tokens; t += kRn)
    K::template tile<RM, kRn>(cols, w, w_stride, act + t * act_stride, act_stride, y + t * y_stride,
                              y_stride);
  const int64_t rest = n_tokens - t;
  const uint8_t* a = act + t * act_stride;
  float* yt = y + t * y_stride;
  if constexpr (kRn > 3) {
    if (rest == 3) return K::template tile<RM, 3>(cols, w, w_stride, a, act_stride, yt, y_stride);
  }
  if constexpr (kRn > 2) {
    if (rest == 2) return K::template tile<RM, 2>(cols, w, w_stride, a, act_stride, yt, y_stride);
  }
  if (rest == 1) K::template tile<RM, 1>(cols, w, w_stride, a, act_stride, yt, y_stride);
}

template <class K>
void gemm(int64_t cols, int64_t n_rows, int64_t n_tokens, const uint8_t* w, size_t w_stride,
          const uint8_t* act, size_t act_stride, float* y, int64_t y_stride) {
  int64_t r = 0;
  if (n_tokens > 1 || !K::kOneRowMatVec)
    for (; r + kRm <= n_rows; r += kRm)
      gemm_rows<K, kRm>(cols, n_tokens, w + r * w_stride, w_stride, act, act_stride, y + r,
                        y_stride);
  for (; r < n_rows; ++r)
    gemm_rows<K, 1>(cols, n_tokens, w + r * w_stride, w_stride, act, act_stride, y + r, y_stride);
}

template <class K>
void vec_dot(int64_t n, float* out, const void* w, const void* act) {
  K::template tile<1, 1>(n, static_cast<const uint8_t*>(w), 0, static_cast<const uint8_t*>(act), 0,
                         out, 0);
}

// --------------------------------------------------- activation quantizers

inline __m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

inline float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// 32 int32 lanes (4 vectors, elements in order) -> 32 int8, with saturation.
inline __m256i pack_32(__m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i ab = _mm256_packs_epi32(a, b);  // per 128-bit lane: a0 b0 | a1 b1
  const __m256i cd = _mm256_packs_epi32(c, d);
  const __m256i bytes = _mm256_packs_epi16(ab, cd);  // a0 b0 c0 d0 | a1 b1 c1 d1 (dwords)
  return _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// As ggml's x86 quantize_row_q8_0/q8_1: id = 127 / amax, round to nearest
// even. Returns d * sum(qs) with d in f32 (Q8_1's s before rounding).
template <class Block>
float quantize_block_8(const float* x, Block& y) {
  __m256 v[4];
  __m256 amax = _mm256_setzero_ps();
  for (int k = 0; k < 4; ++k) {
    v[k] = _mm256_loadu_ps(x + 8 * k);
    amax = _mm256_max_ps(amax, abs_ps(v[k]));
  }
  const float m = hmax(amax);
  const float d = m / 127;
  const float id = m != 0.0f ? 127.0f / m : 0.0f;
  y.d = fp32_to_fp16(d);
  __m256i q[4];
  __m256i sum = _mm256_setzero_si256();
  for (int k = 0; k < 4; ++k) {
    q[k] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[k], _mm256_set1_ps(id)),
                                              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    sum = _mm256_add_epi32(sum, q[k]);
  }
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(y.qs), pack_32(q[0], q[1], q[2], q[3]));
  return static_cast<float>(hsum(sum)) * d;
}

void quantize_q8_0(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<block_q8_0*>(dst);
  for (int64_t i = 0; i < n / QK8_0; ++i) quantize_block_8(src + i * QK8_0, y[i]);
}

void quantize_q8_1(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<block_q8_1*>(dst);
  for (int64_t i = 0; i < n / QK8_1; ++i)
    y[i].s = fp32_to_fp16(quantize_block_8(src + i * QK8_1, y[i]));
}

// As ref::quantize_q8_K: the signed extreme (first of equal magnitudes) maps
// to -127; q = min(127, round-half-even(iscale * x)).
void quantize_q8_K(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<block_q8_K*>(dst);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float* x = src + i * QK_K;
    __m256 amax_v = _mm256_setzero_ps();
    for (int k = 0; k < QK_K; k += 8)
      amax_v = _mm256_max_ps(amax_v, abs_ps(_mm256_loadu_ps(x + k)));
    const float amax = hmax(amax_v);
    if (amax == 0.0f) {
      std::memset(&y[i], 0, sizeof(block_q8_K));
      continue;
    }
    float max = 0.0f;
    for (int j = 0; j < QK_K; ++j)
      if (x[j] == amax || x[j] == -amax) {
        max = x[j];
        break;
      }
    const float iscale = -127.0f / max;
    const __m256 s = _mm256_set1_ps(iscale);
    const __m256i cap = _mm256_set1_epi32(127);
    for (int k = 0; k < QK_K; k += 32) {
      __m256i q[4];
      for (int part = 0; part < 4; ++part)
        q[part] = _mm256_min_epi32(
            cap, _mm256_cvtps_epi32(_mm256_mul_ps(s, _mm256_loadu_ps(x + k + 8 * part))));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[i].qs + k), pack_32(q[0], q[1], q[2], q[3]));
    }
    // Sums of 16: byte pairs to int16, then pairs of int16 within each half.
    for (int k = 0; k < QK_K; k += 32) {
      const __m256i pairs = _mm256_maddubs_epi16(_mm256_set1_epi8(1), load256(y[i].qs + k));
      const __m256i quads = _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
      alignas(32) int32_t lanes[8];
      _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), quads);
      y[i].bsums[k / 16] = static_cast<int16_t>(lanes[0] + lanes[1] + lanes[2] + lanes[3]);
      y[i].bsums[k / 16 + 1] = static_cast<int16_t>(lanes[4] + lanes[5] + lanes[6] + lanes[7]);
    }
    y[i].d = 1 / iscale;
  }
}

// Round to nearest even, as fp32_to_fp16 (NaN payloads may differ).
void quantize_f16(const float* src, void* dst, int64_t n) {
  auto* h = static_cast<f16_t*>(dst);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(h + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
  for (; i < n; ++i) h[i] = fp32_to_fp16(src[i]);
}

void dequantize_f16(const void* src, float* dst, int64_t n) {
  const auto* h = static_cast<const f16_t*>(src);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, load8_f16(h + i));
  for (; i < n; ++i) dst[i] = fp16_to_fp32(h[i]);
}

// ------------------------------------------------------------- row ops

// 2^e for integer lanes e in the normal exponent range.
inline __m256 pow2(__m256i e) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(e, _mm256_set1_epi32(127)), 23));
}

// ggml's AVX-512 expf (ggml_v_expf) lane by lane, bit-identical to the
// scalar table's ggml_expf: j = e^b by polynomial, times 2^n with one
// rounding. 2^n may be outside the normal range (|n| <= 192), so j is first
// scaled exactly by 2^(n - clamp(n)) and then rounded once by 2^clamp(n).
inline __m256 ggml_exp_ps(__m256 x) {
  const __m256 shift = _mm256_set1_ps(0x1.8p23f);
  const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), shift);
  const __m256 n = _mm256_sub_ps(z, shift);
  const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f),
                                    _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
  const __m256 u = _mm256_mul_ps(b, b);
  const __m256 j = _mm256_fmadd_ps(
      _mm256_fmadd_ps(
          _mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f)), u,
          _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f))),
      u, _mm256_fmadd_ps(_mm256_set1_ps(0x1.ffffecp-1f), b, _mm256_set1_ps(1.0f)));
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i inner =
      _mm256_min_epi32(_mm256_max_epi32(ni, _mm256_set1_epi32(-126)), _mm256_set1_epi32(127));
  const __m256 scaled =
      _mm256_mul_ps(_mm256_mul_ps(j, pow2(_mm256_sub_epi32(ni, inner))), pow2(inner));
  const __m256 abs_n = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), n);
  const __m256 saturate = _mm256_cmp_ps(abs_n, _mm256_set1_ps(192.0f), _CMP_GT_OQ);
  const __m256 limit = _mm256_and_ps(_mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_GT_OQ),
                                     _mm256_set1_ps(__builtin_inff()));
  return _mm256_blendv_ps(scaled, limit, saturate);
}

// Sum of squares of float products in double lanes, as ggml's ggml_float.
void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps) {
  __m256d acc = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256 sq = _mm256_mul_ps(v, v);
    acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_castps256_ps128(sq)));
    acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_extractf128_ps(sq, 1)));
  }
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, acc);
  double sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
  for (; i < n; ++i) sum += static_cast<double>(x[i] * x[i]);
  const float mean = static_cast<float>(sum / n);
  const float scale = 1.0f / __builtin_sqrtf(mean + eps);
  const __m256 s = _mm256_set1_ps(scale);
  for (i = 0; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), s),
                                            _mm256_loadu_ps(weight + i)));
  for (; i < n; ++i) out[i] = (x[i] * scale) * weight[i];
}

// As the scalar table: ggml_expf, the sum by 16-element chunks (each one's
// _mm512_reduce_add_ps order is hsum of the sum of its two 8-lane halves)
// added in double; the last chunk is zero-padded.
void softmax(float* x, int64_t n, float scale) {
  const __m256 s = _mm256_set1_ps(scale);
  __m256 mv = _mm256_set1_ps(-__builtin_inff());
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i), s);
    _mm256_storeu_ps(x + i, v);
    mv = _mm256_max_ps(mv, v);
  }
  float max = hmax(mv);
  for (; i < n; ++i) {
    x[i] *= scale;
    if (x[i] > max) max = x[i];
  }
  const __m256 m = _mm256_set1_ps(max);
  double sum = 0.0;
  for (i = 0; i < n; i += 16) {
    alignas(32) float chunk[16] = {};
    const int64_t count = n - i < 16 ? n - i : 16;
    for (int64_t k = 0; k < count; ++k) chunk[k] = x[i + k];
    const __m256 lo = ggml_exp_ps(_mm256_sub_ps(_mm256_load_ps(chunk), m));
    const __m256 hi = ggml_exp_ps(_mm256_sub_ps(_mm256_load_ps(chunk + 8), m));
    _mm256_store_ps(chunk, lo);
    _mm256_store_ps(chunk + 8, hi);
    // Lanes past n hold exp(0 - max) from the zero fill: clear them.
    for (int64_t k = count; k < 16; ++k) chunk[k] = 0.0f;
    for (int64_t k = 0; k < count; ++k) x[i + k] = chunk[k];
    sum += hsum(_mm256_add_ps(_mm256_load_ps(chunk), _mm256_load_ps(chunk + 8)));
  }
  const float inv = static_cast<float>(1.0 / sum);
  const __m256 iv = _mm256_set1_ps(inv);
  for (i = 0; i + 8 <= n; i += 8)
    _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), iv));
  for (; i < n; ++i) x[i] *= inv;
}

// As the scalar table: ggml_expf on 16-element chunks, libm on the rest.
void swiglu(float* gate, const float* up, int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const int64_t vec_end = n - n % 16;
  int64_t i = 0;
  for (; i < vec_end; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256 e = ggml_exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), g));
    const __m256 silu = _mm256_div_ps(g, _mm256_add_ps(one, e));
    _mm256_storeu_ps(gate + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
  }
  for (; i < n; ++i) gate[i] = gate[i] / (1.0f + __builtin_expf(-gate[i])) * up[i];
}

void add(float* y, const float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_loadu_ps(x + i)));
  for (; i < n; ++i) y[i] += x[i];
}

// ------------------------------------------------------------------ table

template <class K>
TypeKernels dots(ToFloatFn to_float) {
  return {vec_dot<K>, gemm<K>, to_float};
}

KernelTable make_table(const char* name, KernelIsa isa) {
  KernelTable k;
  k.name = name;
  k.isa = isa;
  auto row = [&k](GgmlType type) -> TypeKernels& { return k.types[static_cast<size_t>(type)]; };
  row(GgmlType::F32) = dots<FloatRow<F32Row>>(ref::dequantize_f32);
  row(GgmlType::F16) = dots<FloatRow<F16Row>>(dequantize_f16);
  row(GgmlType::BF16) = dots<FloatRow<BF16Row>>(ref::dequantize_bf16);
  row(GgmlType::Q4_0) = dots<Legacy<Q4_0>>(Legacy<Q4_0>::to_float);
  row(GgmlType::Q4_0).gemm_repacked = q4_0_repacked_gemm;
  row(GgmlType::Q4_1) = dots<Legacy<Q4_1>>(Legacy<Q4_1>::to_float);
  row(GgmlType::Q5_0) = dots<Legacy<Q5_0>>(Legacy<Q5_0>::to_float);
  row(GgmlType::Q5_1) = dots<Legacy<Q5_1>>(Legacy<Q5_1>::to_float);
  row(GgmlType::Q8_0) = dots<Legacy<Q8_0>>(Legacy<Q8_0>::to_float);
  row(GgmlType::Q2_K) = dots<KQuant<Q2_K>>(KQuant<Q2_K>::to_float);
  row(GgmlType::Q3_K) = dots<KQuant<Q3_K>>(KQuant<Q3_K>::to_float);
  row(GgmlType::Q4_K) = dots<KQuant<Q4_K>>(KQuant<Q4_K>::to_float);
  row(GgmlType::Q5_K) = dots<KQuant<Q5_K>>(KQuant<Q5_K>::to_float);
  row(GgmlType::Q6_K) = dots<KQuant<Q6_K>>(KQuant<Q6_K>::to_float);
  row(GgmlType::Q8_1) = {nullptr, nullptr, ref::dequantize_q8_1};
  row(GgmlType::Q8_K) = {nullptr, nullptr, ref::dequantize_q8_K};
  k.quantize_q8_0 = quantize_q8_0;
  k.quantize_q8_1 = quantize_q8_1;
  k.quantize_q8_K = quantize_q8_K;
  k.quantize_f16 = quantize_f16;
  k.rms_norm = rms_norm;
  k.softmax = softmax;
  k.swiglu = swiglu;
  k.add = add;
  return k;
}

}  // namespace
}  // namespace flashslim::simd::FLASHSLIM_ISA_NS

FLASHSLIM_TARGET_END
