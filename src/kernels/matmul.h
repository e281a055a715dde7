#pragma once
// Weight matrix × activations, the way ggml does it: the activations are first
// rounded to the weight type's vec_dot_type (f16, bf16, Q8_0, Q8_1 or Q8_K
// blocks), once per matmul, then every output is one vec_dot of a weight row
// with an activation row.
#include <cstdint>
#include <span>

#include "kernels/thread_pool.h"
#include "model/weight_access.h"
#include "tensor/ggml_type.h"

namespace flashslim {

// Activations of n_tokens rows × cols, converted to `type`.
struct QuantizedActivations {
  GgmlType type = GgmlType::F32;
  const uint8_t* data = nullptr;
  size_t row_bytes = 0;
  int64_t n_tokens = 0;
  int64_t cols = 0;
};

// Bytes of scratch that quantize_activations needs for n_tokens × cols
// activations feeding weights of any type.
size_t activation_scratch_bytes(int64_t n_tokens, int64_t cols);

// Converts x (n_tokens rows of cols floats, contiguous) for weights of type
// `weight_type` into `scratch`.
QuantizedActivations quantize_activations(GgmlType weight_type, const float* x, int64_t n_tokens,
                                          int64_t cols, std::span<uint8_t> scratch,
                                          ThreadPool& pool);

// Whether llama.cpp's x86 CPU backend (GGML_CPU_AARCH64, the reference
// build) repacks this weight into 8-row interleaved blocks: Q4_0 matrices
// whose row count is a multiple of 8, except the token embedding (llama.cpp
// reads it with GET_ROWS, also when it is the tied output head). Their
// products then round in another order (TypeKernels::gemm_repacked), which
// matmul follows.
bool llama_cpp_repacks(const gguf::TensorInfo& t);

// y[t * y_stride + r] = row r of `w` · activation row t, for every row r of the
// tensor (all parts) and t < xq.n_tokens. REQUIRES xq.type is w's vec_dot_type.
void matmul(const WeightView& w, const QuantizedActivations& xq, float* y, int64_t y_stride,
            ThreadPool& pool);

}  // namespace flashslim
