#pragma once
// ggml's quantized block layouts, byte for byte (GGUF tensor data is an array
// of these). Sizes are asserted; every field is naturally aligned, so there is
// no padding. Element order inside a block is described at each struct.
#include <cstdint>

#include "tensor/fp16.h"

namespace flashslim {

inline constexpr int QK4_0 = 32;
inline constexpr int QK4_1 = 32;
inline constexpr int QK5_0 = 32;
inline constexpr int QK5_1 = 32;
inline constexpr int QK8_0 = 32;
inline constexpr int QK8_1 = 32;
inline constexpr int QK_K = 256;  // super-block size of the K-quants

// x[j] = (nibble - 8) * d; element j < 16 is the low nibble of qs[j], element
// j + 16 the high nibble.
struct block_q4_0 {
  f16_t d;
  uint8_t qs[QK4_0 / 2];
};
static_assert(sizeof(block_q4_0) == 18);

// x = nibble * d + m; nibbles ordered as in q4_0.
struct block_q4_1 {
  f16_t d;
  f16_t m;
  uint8_t qs[QK4_1 / 2];
};
static_assert(sizeof(block_q4_1) == 20);

// x = (q - 16) * d; q's low 4 bits as in q4_0, bit 4 of element j is bit j of
// the little-endian uint32 qh.
struct block_q5_0 {
  f16_t d;
  uint8_t qh[4];
  uint8_t qs[QK5_0 / 2];
};
static_assert(sizeof(block_q5_0) == 22);

// x = q * d + m; q as in q5_0.
struct block_q5_1 {
  f16_t d;
  f16_t m;
  uint8_t qh[4];
  uint8_t qs[QK5_1 / 2];
};
static_assert(sizeof(block_q5_1) == 24);

// x = qs * d.
struct block_q8_0 {
  f16_t d;
  int8_t qs[QK8_0];
};
static_assert(sizeof(block_q8_0) == 34);

// Activation block for q4_1/q5_1: x = qs * d; s = d * sum(qs) carries the
// offset term of the weight's minimum.
struct block_q8_1 {
  f16_t d;
  f16_t s;
  int8_t qs[QK8_1];
};
static_assert(sizeof(block_q8_1) == 36);

// 16 sub-blocks of 16: x = d * (scales[i] & 15) * q - dmin * (scales[i] >> 4),
// q in 0..3. Each 128-element half uses 32 bytes of qs; element 32*k + l of
// the half is bits 2k..2k+1 of qs[l].
struct block_q2_K {
  uint8_t scales[QK_K / 16];
  uint8_t qs[QK_K / 4];
  f16_t d;
  f16_t dmin;
};
static_assert(sizeof(block_q2_K) == 84);

// 16 sub-blocks of 16 with signed 6-bit scales (packed in 12 bytes, offset
// 32): x = d * (scale - 32) * q, q in -4..3: 2 low bits laid out as in q2_K,
// and element j subtracts 4 when bit j/32 of hmask[j%32] is clear.
struct block_q3_K {
  uint8_t hmask[QK_K / 8];
  uint8_t qs[QK_K / 4];
  uint8_t scales[12];
  f16_t d;
};
static_assert(sizeof(block_q3_K) == 110);

// 8 sub-blocks of 32 with 6-bit scales and mins packed in 12 bytes
// (get_scale_min_k4): x = d * scale * q - dmin * min, q in 0..15. Each
// 64-element pair uses 32 bytes of qs: low nibbles first, then high nibbles.
struct block_q4_K {
  f16_t d;
  f16_t dmin;
  uint8_t scales[12];
  uint8_t qs[QK_K / 2];
};
static_assert(sizeof(block_q4_K) == 144);

// As q4_K with a fifth bit: for 64-element pair p, bit 2p of qh[l] is the
// high bit of the low-nibble element l, bit 2p+1 of the high-nibble one.
struct block_q5_K {
  f16_t d;
  f16_t dmin;
  uint8_t scales[12];
  uint8_t qh[QK_K / 8];
  uint8_t qs[QK_K / 2];
};
static_assert(sizeof(block_q5_K) == 176);

// 16 sub-blocks of 16 with int8 scales: x = d * scales[i] * (q - 32), q 6 bits
// = 4 from ql, 2 from qh (layout in dequantize_q6_K).
struct block_q6_K {
  uint8_t ql[QK_K / 2];
  uint8_t qh[QK_K / 4];
  int8_t scales[QK_K / 16];
  f16_t d;
};
static_assert(sizeof(block_q6_K) == 210);

// Activation block for the K-quants: x = d * qs (d in f32); bsums[i] is the
// sum of qs over elements 16i..16i+15 (used for the weights' minimum terms).
struct block_q8_K {
  float d;
  int8_t qs[QK_K];
  int16_t bsums[QK_K / 16];
};
static_assert(sizeof(block_q8_K) == 292);

}  // namespace flashslim
