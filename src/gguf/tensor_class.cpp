// Tensor-name classification (llama.cpp naming: llama-arch.cpp's tensor names).
#include "gguf/tensor_class.h"

#include <charconv>

namespace flashslim::gguf {
namespace {

constexpr std::string_view kLayerPrefix = "blk.";

// The part after "blk.N." for layer tensors, the whole name otherwise.
std::string_view strip_layer(std::string_view name) {
  if (!layer_index(name)) return name;
  name.remove_prefix(kLayerPrefix.size());
  return name.substr(name.find('.') + 1);
}

}  // namespace

std::optional<int> layer_index(std::string_view name) {
  if (!name.starts_with(kLayerPrefix)) return std::nullopt;
  name.remove_prefix(kLayerPrefix.size());
  int layer = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), layer);
  if (ec != std::errc() || end == name.data() || end == name.data() + name.size() || *end != '.' ||
      layer < 0)
    return std::nullopt;
  return layer;
}

TensorClass classify(std::string_view name) {
  const std::string_view base = strip_layer(name);
  if (base.starts_with("attn_")) return TensorClass::Attention;
  if (base.starts_with("ffn_")) return TensorClass::FFN;
  if (base.starts_with("token_embd.")) return TensorClass::Embedding;
  if (base.starts_with("output.") || base.starts_with("output_norm.")) return TensorClass::Output;
  return TensorClass::Other;
}

const char* tensor_class_name(TensorClass c) {
  switch (c) {
    case TensorClass::Attention:
      return "attention";
    case TensorClass::FFN:
      return "ffn";
    case TensorClass::Embedding:
      return "embedding";
    case TensorClass::Output:
      return "output";
    case TensorClass::Other:
      return "other";
  }
  return "other";
}

}  // namespace flashslim::gguf
