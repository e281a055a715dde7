#pragma once
// File types a model can be written in, and which tensor type each weight gets
// in them: the same choices llama-quantize makes (llama-quant.cpp), so a
// synthetic Q4_K_M file has the byte layout of a real one.
#include <cstdint>
#include <string>
#include <string_view>

#include "tensor/ggml_type.h"

namespace flashslim {

enum class ModelFileType { F16, Q8_0, Q4_0, Q4_K_M, Q6_K };

struct ModelFileTypeInfo {
  ModelFileType type;
  const char* name;      // as llama-quantize spells it ("Q4_K_M")
  uint32_t llama_ftype;  // general.file_type (enum llama_ftype)
  GgmlType base;         // the type of most weights
};

const ModelFileTypeInfo& model_file_type_info(ModelFileType type);
// Case-insensitive; Error listing the known names otherwise.
ModelFileType parse_model_file_type(std::string_view name);
std::string model_file_type_names();  // "F16, Q8_0, Q4_0, Q4_K_M, Q6_K"

// What a tensor is, as far as the type choice cares.
enum class TensorRole {
  TokenEmbd,
  Output,
  Norm,
  Bias,
  AttnQ,
  AttnK,
  AttnV,
  AttnOutput,
  FfnGate,
  FfnUp,
  FfnDown,
};

// Type of a tensor with rows of `row_length` elements in block `layer` of
// `n_layer` (layer is ignored for tensors outside the blocks). With tied
// embeddings token_embd is the output head and is typed like output.weight.
// Rows that do not fit the chosen block size fall back as llama-quantize does
// (Q4_K -> Q5_0, Q6_K -> Q8_0, then F16).
GgmlType choose_tensor_type(ModelFileType file_type, TensorRole role, int64_t row_length,
                            int32_t layer, int32_t n_layer, bool tied_embeddings);

}  // namespace flashslim
