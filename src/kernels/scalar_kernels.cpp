// The scalar kernel table: the reference kernels of src/tensor, a matrix tile
// that is one vec_dot per (row, token), and ggml's scalar row operations
// (float math, sums of squares and softmax denominators in double). Runs
// everywhere; every SIMD table is tested against it.
#include <cmath>

#include "kernels/simd/isa_tables.h"
#include "tensor/reference_kernels.h"
#include "tensor/x86_float_order.h"

namespace flashslim::simd {

namespace {

template <VecDotFn Dot>
void gemm_by_vec_dot(int64_t cols, int64_t n_rows, int64_t n_tokens, const uint8_t* w,
                     size_t w_stride, const uint8_t* act, size_t act_stride, float* y,
                     int64_t y_stride) {
  for (int64_t r = 0; r < n_rows; ++r)
    for (int64_t t = 0; t < n_tokens; ++t)
      Dot(cols, y + t * y_stride + r, w + r * w_stride, act + t * act_stride);
}

template <VecDotFn Dot>
TypeKernels dots(ToFloatFn to_float) {
  return {Dot, gemm_by_vec_dot<Dot>, to_float};
}

void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps) {
  double sum = 0.0;  // as ggml: float squares summed in ggml_float (double)
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i] * x[i]);
  const float mean = static_cast<float>(sum / n);
  const float scale = 1.0f / std::sqrt(mean + eps);
  for (int64_t i = 0; i < n; ++i) out[i] = (x[i] * scale) * weight[i];
}

// ggml's vector expf on AVX-512 (ggml_v_expf, after ARM's optimized
// routines; llama.cpp's reference builds run it): n = round(x / ln 2) by the
// 1.5 * 2^23 shift, b = x - n ln 2 in two FMA steps, j = 1 + b + ... as a
// degree-5 polynomial in FMAs, result j * 2^n (one rounding). |n| > 192
// saturates to 0 or infinity. Max error ~1.5 ulp; the point is the bits.
float ggml_expf(float x) {
  const float shift = 0x1.8p23f;
  const float z = std::fma(x, 0x1.715476p+0f, shift);
  const float n = z - shift;
  const float b = std::fma(-n, 0x1.7f7d1cp-20f, std::fma(-n, 0x1.62e4p-1f, x));
  if (std::isnan(n)) return n;
  if (std::fabs(n) > 192.0f) return n <= 0.0f ? 0.0f : INFINITY;
  const float u = b * b;
  const float j = std::fma(std::fma(std::fma(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u,
                                    std::fma(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)),
                           u, std::fma(0x1.ffffecp-1f, b, 1.0f));
  return std::ldexp(j, static_cast<int>(n));
}

// As ggml's soft_max on a row padded with masked (-inf) entries to a multiple
// of 16: ggml_expf and the sum by 16-lane chunks, each chunk's float sum
// added in double.
void softmax(float* x, int64_t n, float scale) {
  float max = -INFINITY;
  for (int64_t i = 0; i < n; ++i) {
    x[i] *= scale;
    if (x[i] > max) max = x[i];
  }
  double sum = 0.0;
  for (int64_t i = 0; i < n; i += 16) {
    float chunk[16] = {};
    for (int64_t k = 0; k < 16 && i + k < n; ++k) chunk[k] = x[i + k] = ggml_expf(x[i + k] - max);
    sum += ref::reduce_add16(chunk);
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

// ggml's silu on 16-lane chunks (ggml_expf), libm expf on the remainder.
void swiglu(float* gate, const float* up, int64_t n) {
  const int64_t vec_end = n - n % 16;
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    const float e = i < vec_end ? ggml_expf(0.0f - g) : std::exp(-g);
    gate[i] = g / (1.0f + e) * up[i];
  }
}

void add(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

KernelTable make_scalar_table() {
  KernelTable k;
  k.name = "scalar";
  k.isa = KernelIsa::Scalar;
  auto row = [&k](GgmlType type) -> TypeKernels& { return k.types[static_cast<size_t>(type)]; };
  row(GgmlType::F32) = dots<ref::vec_dot_f32>(ref::dequantize_f32);
  row(GgmlType::F16) = dots<ref::vec_dot_f16>(ref::dequantize_f16);
  row(GgmlType::BF16) = dots<ref::vec_dot_bf16>(ref::dequantize_bf16);
  row(GgmlType::Q4_0) = dots<ref::vec_dot_q4_0_q8_0>(ref::dequantize_q4_0);
  row(GgmlType::Q4_0).gemm_repacked = gemm_by_vec_dot<ref::vec_dot_q4_0_q8_0_repacked>;
  row(GgmlType::Q4_1) = dots<ref::vec_dot_q4_1_q8_1>(ref::dequantize_q4_1);
  row(GgmlType::Q5_0) = dots<ref::vec_dot_q5_0_q8_0>(ref::dequantize_q5_0);
  row(GgmlType::Q5_1) = dots<ref::vec_dot_q5_1_q8_1>(ref::dequantize_q5_1);
  row(GgmlType::Q8_0) = dots<ref::vec_dot_q8_0_q8_0>(ref::dequantize_q8_0);
  row(GgmlType::Q2_K) = dots<ref::vec_dot_q2_K_q8_K>(ref::dequantize_q2_K);
  row(GgmlType::Q3_K) = dots<ref::vec_dot_q3_K_q8_K>(ref::dequantize_q3_K);
  row(GgmlType::Q4_K) = dots<ref::vec_dot_q4_K_q8_K>(ref::dequantize_q4_K);
  row(GgmlType::Q5_K) = dots<ref::vec_dot_q5_K_q8_K>(ref::dequantize_q5_K);
  row(GgmlType::Q6_K) = dots<ref::vec_dot_q6_K_q8_K>(ref::dequantize_q6_K);
  row(GgmlType::Q8_1) = {nullptr, nullptr, ref::dequantize_q8_1};
  row(GgmlType::Q8_K) = {nullptr, nullptr, ref::dequantize_q8_K};
  k.quantize_q8_0 = ref::quantize_q8_0_activation;
  k.quantize_q8_1 = ref::quantize_q8_1;
  k.quantize_q8_K = ref::quantize_q8_K;
  k.quantize_f16 = ref::quantize_f16;
  k.rms_norm = rms_norm;
  k.softmax = softmax;
  k.swiglu = swiglu;
  k.add = add;
  return k;
}

}  // namespace

const KernelTable& scalar_kernel_table() {
  static const KernelTable table = make_scalar_table();
  return table;
}

}  // namespace flashslim::simd
