#pragma once
// Rounding of matmul activations, as ggml does before every weight matmul:
// an f32 activation row is converted to the weight type's vec_dot_type (f16
// for F16 weights, bf16 for BF16, Q8_0 / Q8_1 / Q8_K blocks for the quantized
// types, unchanged for F32) and then dotted with each weight row by
// type_traits(weight_type).vec_dot.
#include <cstddef>
#include <cstdint>

#include "tensor/ggml_type.h"

namespace flashslim {

// Converts `n` floats (a multiple of vec_dot_type's block size) into `dst`,
// which holds row_bytes(vec_dot_type, n) bytes.
void quantize_activation(GgmlType vec_dot_type, const float* x, void* dst, int64_t n);

// Bytes of one converted activation row of `n` elements for weights of `weight_type`.
size_t activation_row_bytes(GgmlType weight_type, int64_t n);

}  // namespace flashslim
