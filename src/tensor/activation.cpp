#include "tensor/activation.h"

#include "tensor/reference_kernels.h"

namespace flashslim {

void quantize_activation(GgmlType vec_dot_type, const float* x, void* dst, int64_t n) {
  // Q8_0 weights are written with the reference rounding, but activations are
  // rounded as llama.cpp's x86 build does (the fixtures' reference).
  if (vec_dot_type == GgmlType::Q8_0) return ref::quantize_q8_0_activation(x, dst, n);
  type_traits(vec_dot_type).from_float(x, dst, n);
}

size_t activation_row_bytes(GgmlType weight_type, int64_t n) {
  return row_bytes(type_traits(weight_type).vec_dot_type, n);
}

}  // namespace flashslim
