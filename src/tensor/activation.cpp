#include "tensor/activation.h"

namespace flashslim {

void quantize_activation(GgmlType vec_dot_type, const float* x, void* dst, int64_t n) {
  type_traits(vec_dot_type).from_float(x, dst, n);
}

size_t activation_row_bytes(GgmlType weight_type, int64_t n) {
  return row_bytes(type_traits(weight_type).vec_dot_type, n);
}

}  // namespace flashslim
