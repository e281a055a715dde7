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

}  // namespace flashslim::ops
