#include "kernels/ops.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "kernels/kernel_table.h"
#include "tensor/x86_float_order.h"

namespace flashslim::ops {

void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps) {
  kernels().rms_norm(x, weight, out, n, eps);
}

void rope(float* x, int n_heads, int head_dim, int32_t pos, float freq_base, float freq_scale,
          RopeStyle style) {
  // As ggml: theta_i = freq_scale * (pos * base^(-2i/d)), the second factor
  // computed by repeated multiplication in float so angles round the same way.
  // The angles depend only on i, so cos/sin are computed once for all heads.
  constexpr int kMaxHalf = 512;
  const int half = head_dim / 2;
  if (half > kMaxHalf)
    fail("rope: head dimension {} is above the supported {}", head_dim, 2 * kMaxHalf);
  float cos_t[kMaxHalf], sin_t[kMaxHalf];
  const float theta_scale = std::pow(freq_base, -2.0f / static_cast<float>(head_dim));
  float theta_extrap = static_cast<float>(pos);
  for (int i = 0; i < half; ++i) {
    const float theta = freq_scale * theta_extrap;
    cos_t[i] = std::cos(theta);
    sin_t[i] = std::sin(theta);
    theta_extrap *= theta_scale;
  }
  const int stride = style == RopeStyle::Norm ? 2 : 1;    // distance of pair i from pair i+1
  const int other = style == RopeStyle::Norm ? 1 : half;  // offset of a pair's second element
  for (int h = 0; h < n_heads; ++h) {
    float* v = x + static_cast<int64_t>(h) * head_dim;
    for (int i = 0; i < half; ++i) {
      float* a = v + i * stride;
      const float x0 = a[0], x1 = a[other];
      // ggml's C is compiled with FP contraction: the first product of each
      // line fuses into an FMA with the second, rounded, product.
      a[0] = std::fma(x0, cos_t[i], -(x1 * sin_t[i]));
      a[other] = std::fma(x0, sin_t[i], x1 * cos_t[i]);
    }
  }
}

void softmax(float* x, int64_t n, float scale) { kernels().softmax(x, n, scale); }

void swiglu(float* gate, const float* up, int64_t n) { kernels().swiglu(gate, up, n); }

void add(float* y, const float* x, int64_t n) { kernels().add(y, x, n); }

float dot_f32_rows(const float* x, const float* y, int64_t n, int64_t n_padded) {
  const int64_t vec_end = n_padded - n_padded % 64;
  float lanes[4][16] = {};
  for (int64_t i = 0; i < std::min(n, vec_end); ++i)
    lanes[(i / 16) % 4][i % 16] = std::fma(x[i], y[i], lanes[(i / 16) % 4][i % 16]);
  for (int l = 0; l < 16; ++l) {
    lanes[0][l] += lanes[2][l];
    lanes[1][l] += lanes[3][l];
    lanes[0][l] += lanes[1][l];
  }
  float sum = ref::reduce_add16(lanes[0]);
  for (int64_t i = vec_end; i < n; ++i) sum += x[i] * y[i];
  return sum;
}

float dot_f32_tiles(const float* x, const float* y, int64_t n) {
  float lanes[16] = {};
  for (int64_t i = 0; i < n; ++i) lanes[i % 16] = std::fma(x[i], y[i], lanes[i % 16]);
  return ref::reduce_add16(lanes);
}

}  // namespace flashslim::ops
