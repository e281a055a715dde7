#pragma once
// Tensor element types, numbered as in ggml/GGUF, and their traits table.
// Adding a type is adding a row to the table in type_traits.cpp.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace flashslim {

enum class GgmlType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  BF16 = 30,
};

// Converts `n` elements of one row (n a multiple of block_size) of a type.
using ToFloatFn = void (*)(const void* src, float* dst, int64_t n);
// Reference quantizer: `n` floats (a multiple of block_size) into blocks.
using FromFloatFn = void (*)(const float* src, void* dst, int64_t n);
// Dot product of `n` elements: `w` is a row of this type, `act` the activation
// row already converted to vec_dot_type. Semantics as ggml (integer sums of
// block products, scaled in f32), so logits match llama.cpp.
using VecDotFn = void (*)(int64_t n, float* out, const void* w, const void* act);

struct TypeTraits {
  const char* name = nullptr;  // as ggml prints it ("Q4_K")
  int64_t block_size = 0;      // elements per block
  size_t type_size = 0;        // bytes per block
  bool is_quantized = false;
  GgmlType vec_dot_type = GgmlType::F32;  // what activations are rounded to
  ToFloatFn to_float = nullptr;
  FromFloatFn from_float = nullptr;
  VecDotFn vec_dot = nullptr;  // scalar reference; null for activation-only types
};

// Types this build can read (every enumerator above). Unknown ids give nullopt.
std::optional<GgmlType> ggml_type_from_id(uint32_t id);
const TypeTraits& type_traits(GgmlType type);
std::string_view type_name(GgmlType type);
// Bytes of a row of `n` elements; throws Error unless n % block_size == 0.
size_t row_bytes(GgmlType type, int64_t n);

}  // namespace flashslim
