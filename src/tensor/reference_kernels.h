#pragma once
// Scalar reference kernels, one function per type and operation, following
// ggml's generic C code (ggml-quants.c, ggml-cpu/quants.c, vec.cpp) including
// the order of float operations, so results are bit-identical to ggml's
// portable path. SIMD kernels are tested against these.
//
// All functions take rows of `n` elements, n a multiple of the type's block
// size; the type_traits table (ggml_type.h) is the usual way to reach them.
//   dequantize_T(src, dst, n): T blocks -> n floats
//   quantize_T(src, dst, n):   n floats -> T blocks (ggml's *_ref quantizer)
//   vec_dot_T_A(n, out, w, act): *out = dot of a T row and an A row
#include <cstdint>

namespace flashslim::ref {

void dequantize_f32(const void* src, float* dst, int64_t n);  // plain copy
void quantize_f32(const float* src, void* dst, int64_t n);    // plain copy
void dequantize_f16(const void* src, float* dst, int64_t n);
void quantize_f16(const float* src, void* dst, int64_t n);
void dequantize_bf16(const void* src, float* dst, int64_t n);
void quantize_bf16(const float* src, void* dst, int64_t n);
// Float rows: products in f32, sum in double (ggml_float), as ggml.
void vec_dot_f32(int64_t n, float* out, const void* w, const void* act);
void vec_dot_f16(int64_t n, float* out, const void* w, const void* act);
void vec_dot_bf16(int64_t n, float* out, const void* w, const void* act);

void dequantize_q4_0(const void* src, float* dst, int64_t n);
void dequantize_q4_1(const void* src, float* dst, int64_t n);
void dequantize_q5_0(const void* src, float* dst, int64_t n);
void dequantize_q5_1(const void* src, float* dst, int64_t n);
void dequantize_q8_0(const void* src, float* dst, int64_t n);
void dequantize_q8_1(const void* src, float* dst, int64_t n);
void quantize_q4_0(const float* src, void* dst, int64_t n);
void quantize_q4_1(const float* src, void* dst, int64_t n);
void quantize_q5_0(const float* src, void* dst, int64_t n);
void quantize_q5_1(const float* src, void* dst, int64_t n);
void quantize_q8_0(const float* src, void* dst, int64_t n);
void quantize_q8_1(const float* src, void* dst, int64_t n);
// Q8_0 activation rounding as ggml's x86 SIMD path (see quants_legacy.cpp).
void quantize_q8_0_activation(const float* src, void* dst, int64_t n);
void vec_dot_q4_0_q8_0(int64_t n, float* out, const void* w, const void* act);
// The float order of llama.cpp's repacked Q4_0 kernels (kernels/matmul.h).
void vec_dot_q4_0_q8_0_repacked(int64_t n, float* out, const void* w, const void* act);
void vec_dot_q4_1_q8_1(int64_t n, float* out, const void* w, const void* act);
void vec_dot_q5_0_q8_0(int64_t n, float* out, const void* w, const void* act);
void vec_dot_q5_1_q8_1(int64_t n, float* out, const void* w, const void* act);
void vec_dot_q8_0_q8_0(int64_t n, float* out, const void* w, const void* act);

void dequantize_q2_K(const void* src, float* dst, int64_t n);
void dequantize_q3_K(const void* src, float* dst, int64_t n);
void dequantize_q4_K(const void* src, float* dst, int64_t n);
void dequantize_q5_K(const void* src, float* dst, int64_t n);
void dequantize_q6_K(const void* src, float* dst, int64_t n);
void dequantize_q8_K(const void* src, float* dst, int64_t n);
void quantize_q2_K(const float* src, void* dst, int64_t n);
void quantize_q3_K(const float* src, void* dst, int64_t n);
void quantize_q4_K(const float* src, void* dst, int64_t n);
void quantize_q5_K(const float* src, void* dst, int64_t n);
void quantize_q6_K(const float* src, void* dst, int64_t n);
void quantize_q8_K(const float* src, void* dst, int64_t n);
void vec_dot_q2_K_q8_K(int64_t n, float* out, const void* w, const void* act);
void vec_dot_q3_K_q8_K(int64_t n, float* out, const void* w, const void* act);
void vec_dot_q4_K_q8_K(int64_t n, float* out, const void* w, const void* act);
void vec_dot_q5_K_q8_K(int64_t n, float* out, const void* w, const void* act);
void vec_dot_q6_K_q8_K(int64_t n, float* out, const void* w, const void* act);

}  // namespace flashslim::ref
