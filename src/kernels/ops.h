#pragma once
// Element-wise and row operations of the forward pass, with ggml's numerics
// (float math, sums of squares and softmax denominators in double). All but
// rope run the kernels() table's version (SIMD lanes reorder the sums).
#include <cstdint>

namespace flashslim::ops {

// out[i] = x[i] / sqrt(mean(x^2) + eps) * weight[i], for n elements.
void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps);

enum class RopeStyle {
  Norm,  // rotate adjacent pairs (x[2i], x[2i+1]) — llama
  Neox,  // rotate halves (x[i], x[i + d/2]) — qwen2, GPT-NeoX
};
// Rotates each of `n_heads` heads of `head_dim` floats in place for position
// `pos`. freq_scale = 1 / linear scaling factor.
void rope(float* x, int n_heads, int head_dim, int32_t pos, float freq_base, float freq_scale,
          RopeStyle style);

// In place: x = softmax(x * scale) over n elements.
void softmax(float* x, int64_t n, float scale);

// gate[i] = silu(gate[i]) * up[i]
void swiglu(float* gate, const float* up, int64_t n);

// y[i] += x[i]
void add(float* y, const float* x, int64_t n);

// Attention dot products over an f32 KV cache, in the float order of
// llama.cpp's AVX-512 build (one rounding per FMA). Elements from n to
// n_padded are zero: llama.cpp's cache view is padded to a multiple of 32
// cells whose probabilities are 0, which moves elements between the parts.
// dot_f32_rows: ggml_vec_dot_f32 (KQ, and KQ·V of one token, which llamafile
// leaves to ggml): 4 x 16 FMA lanes per 64 elements, reduced as ggml's
// GGML_F32_VEC_REDUCE, then the remainder added product by product (not
// fused: the reference outputs match only this way).
float dot_f32_rows(const float* x, const float* y, int64_t n, int64_t n_padded);
// dot_f32_tiles: llamafile's tinyBLAS (KQ·V of a batch): 16 FMA lanes,
// element i in lane i % 16, then _mm512_reduce_add_ps.
float dot_f32_tiles(const float* x, const float* y, int64_t n);

}  // namespace flashslim::ops
