#include "model/quant_mix.h"

#include <array>
#include <cctype>

#include "core/error.h"

namespace flashslim {
namespace {

constexpr std::array<ModelFileTypeInfo, 5> kFileTypes = {{
    {ModelFileType::F16, "F16", 1, GgmlType::F16},
    {ModelFileType::Q8_0, "Q8_0", 7, GgmlType::Q8_0},
    {ModelFileType::Q4_0, "Q4_0", 2, GgmlType::Q4_0},
    {ModelFileType::Q4_K_M, "Q4_K_M", 15, GgmlType::Q4_K},
    {ModelFileType::Q6_K, "Q6_K", 18, GgmlType::Q6_K},
}};

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) !=
        std::toupper(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// llama-quantize's choice for Q4_K_M/Q5_K_M: more bits for the first and last
// eighth of the layers and every third layer in between.
bool use_more_bits(int32_t layer, int32_t n_layer) {
  return layer < n_layer / 8 || layer >= 7 * n_layer / 8 || (layer - n_layer / 8) % 3 == 2;
}

bool fits(GgmlType type, int64_t row_length) {
  return row_length % type_traits(type).block_size == 0;
}

GgmlType fall_back(GgmlType type, int64_t row_length) {
  if (fits(type, row_length)) return type;
  GgmlType smaller = type;
  if (type == GgmlType::Q4_K) smaller = GgmlType::Q5_0;
  if (type == GgmlType::Q6_K) smaller = GgmlType::Q8_0;
  return fits(smaller, row_length) ? smaller : GgmlType::F16;
}

}  // namespace

const ModelFileTypeInfo& model_file_type_info(ModelFileType type) {
  for (const ModelFileTypeInfo& info : kFileTypes) {
    if (info.type == type) return info;
  }
  fail("model file type {} is not in the table", static_cast<int>(type));
}

std::string model_file_type_names() {
  std::string names;
  for (const ModelFileTypeInfo& info : kFileTypes) {
    if (!names.empty()) names += ", ";
    names += info.name;
  }
  return names;
}

ModelFileType parse_model_file_type(std::string_view name) {
  for (const ModelFileTypeInfo& info : kFileTypes) {
    if (equals_ignoring_case(name, info.name)) return info.type;
  }
  fail("--type: unknown file type '{}' (known: {})", name, model_file_type_names());
}

GgmlType choose_tensor_type(ModelFileType file_type, TensorRole role, int64_t row_length,
                            int32_t layer, int32_t n_layer, bool tied_embeddings) {
  // llama-quantize leaves 1-D tensors (norms, biases) in F32.
  if (role == TensorRole::Norm || role == TensorRole::Bias) return GgmlType::F32;
  const GgmlType base = model_file_type_info(file_type).base;
  if (!type_traits(base).is_quantized) return base;

  GgmlType type = base;
  const bool is_head =
      role == TensorRole::Output || (tied_embeddings && role == TensorRole::TokenEmbd);
  if (is_head) {
    type = (base == GgmlType::Q8_0 || !fits(base, row_length)) ? GgmlType::Q8_0 : GgmlType::Q6_K;
  } else if (file_type == ModelFileType::Q4_K_M &&
             (role == TensorRole::AttnV || role == TensorRole::FfnDown) &&
             use_more_bits(layer, n_layer)) {
    type = GgmlType::Q6_K;
  }
  return fall_back(type, row_length);
}

}  // namespace flashslim
