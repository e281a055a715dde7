// The traits table: one row per GgmlType, pairing each weight type with the
// type ggml rounds its matmul activations to (vec_dot_type).
#include <array>

#include "core/error.h"
#include "tensor/block_formats.h"
#include "tensor/ggml_type.h"
#include "tensor/reference_kernels.h"

namespace flashslim {

namespace {

constexpr size_t kMaxTypeId = 31;  // ids are small; BF16 = 30 is the largest we know

using TraitsTable = std::array<TypeTraits, kMaxTypeId>;

constexpr TraitsTable make_table() {
  using T = GgmlType;
  TraitsTable t{};
  auto row = [&t](T type) -> TypeTraits& { return t[static_cast<size_t>(type)]; };
  row(T::F32) = {
      "F32",           1, sizeof(float), false, T::F32, ref::dequantize_f32, ref::quantize_f32,
      ref::vec_dot_f32};
  row(T::F16) = {
      "F16",           1, sizeof(f16_t), false, T::F16, ref::dequantize_f16, ref::quantize_f16,
      ref::vec_dot_f16};
  row(T::BF16) = {
      "BF16",           1, sizeof(bf16_t), false, T::BF16, ref::dequantize_bf16, ref::quantize_bf16,
      ref::vec_dot_bf16};
  row(T::Q4_0) = {"Q4_0",
                  QK4_0,
                  sizeof(block_q4_0),
                  true,
                  T::Q8_0,
                  ref::dequantize_q4_0,
                  ref::quantize_q4_0,
                  ref::vec_dot_q4_0_q8_0};
  row(T::Q4_1) = {"Q4_1",
                  QK4_1,
                  sizeof(block_q4_1),
                  true,
                  T::Q8_1,
                  ref::dequantize_q4_1,
                  ref::quantize_q4_1,
                  ref::vec_dot_q4_1_q8_1};
  row(T::Q5_0) = {"Q5_0",
                  QK5_0,
                  sizeof(block_q5_0),
                  true,
                  T::Q8_0,
                  ref::dequantize_q5_0,
                  ref::quantize_q5_0,
                  ref::vec_dot_q5_0_q8_0};
  row(T::Q5_1) = {"Q5_1",
                  QK5_1,
                  sizeof(block_q5_1),
                  true,
                  T::Q8_1,
                  ref::dequantize_q5_1,
                  ref::quantize_q5_1,
                  ref::vec_dot_q5_1_q8_1};
  row(T::Q8_0) = {"Q8_0",
                  QK8_0,
                  sizeof(block_q8_0),
                  true,
                  T::Q8_0,
                  ref::dequantize_q8_0,
                  ref::quantize_q8_0,
                  ref::vec_dot_q8_0_q8_0};
  row(T::Q8_1) = {
      "Q8_1", QK8_1, sizeof(block_q8_1), true, T::Q8_1, ref::dequantize_q8_1, ref::quantize_q8_1,
      nullptr};
  row(T::Q2_K) = {"Q2_K",
                  QK_K,
                  sizeof(block_q2_K),
                  true,
                  T::Q8_K,
                  ref::dequantize_q2_K,
                  ref::quantize_q2_K,
                  ref::vec_dot_q2_K_q8_K};
  row(T::Q3_K) = {"Q3_K",
                  QK_K,
                  sizeof(block_q3_K),
                  true,
                  T::Q8_K,
                  ref::dequantize_q3_K,
                  ref::quantize_q3_K,
                  ref::vec_dot_q3_K_q8_K};
  row(T::Q4_K) = {"Q4_K",
                  QK_K,
                  sizeof(block_q4_K),
                  true,
                  T::Q8_K,
                  ref::dequantize_q4_K,
                  ref::quantize_q4_K,
                  ref::vec_dot_q4_K_q8_K};
  row(T::Q5_K) = {"Q5_K",
                  QK_K,
                  sizeof(block_q5_K),
                  true,
                  T::Q8_K,
                  ref::dequantize_q5_K,
                  ref::quantize_q5_K,
                  ref::vec_dot_q5_K_q8_K};
  row(T::Q6_K) = {"Q6_K",
                  QK_K,
                  sizeof(block_q6_K),
                  true,
                  T::Q8_K,
                  ref::dequantize_q6_K,
                  ref::quantize_q6_K,
                  ref::vec_dot_q6_K_q8_K};
  row(T::Q8_K) = {
      "Q8_K", QK_K, sizeof(block_q8_K), true, T::Q8_K, ref::dequantize_q8_K, ref::quantize_q8_K,
      nullptr};
  return t;
}

constexpr TraitsTable kTraits = make_table();

}  // namespace

std::optional<GgmlType> ggml_type_from_id(uint32_t id) {
  if (id >= kMaxTypeId || kTraits[id].name == nullptr) return std::nullopt;
  return static_cast<GgmlType>(id);
}

const TypeTraits& type_traits(GgmlType type) {
  const auto id = static_cast<uint32_t>(type);
  if (id >= kMaxTypeId || kTraits[id].name == nullptr) fail("unknown tensor type id {}", id);
  return kTraits[id];
}

std::string_view type_name(GgmlType type) { return type_traits(type).name; }

size_t row_bytes(GgmlType type, int64_t n) {
  const TypeTraits& t = type_traits(type);
  if (n < 0 || n % t.block_size != 0) {
    fail("row of {} elements is not a whole number of {} blocks ({} elements each)", n, t.name,
         t.block_size);
  }
  return static_cast<size_t>(n / t.block_size) * t.type_size;
}

}  // namespace flashslim
