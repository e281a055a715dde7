// The scalar kernel table: the reference kernels of src/tensor, a matrix tile
// that is one vec_dot per (row, token), and ggml's scalar row operations
// (float math, sums of squares and softmax denominators in double). Runs
// everywhere; every SIMD table is tested against it.
#include <cmath>

#include "kernels/simd/isa_tables.h"
#include "tensor/reference_kernels.h"

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

void softmax(float* x, int64_t n, float scale) {
  float max = -INFINITY;
  for (int64_t i = 0; i < n; ++i) {
    x[i] *= scale;
    if (x[i] > max) max = x[i];
  }
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void swiglu(float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    gate[i] = g / (1.0f + std::exp(-g)) * up[i];
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
