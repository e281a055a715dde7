#pragma once
// What a GGUF tensor is for, from its llama.cpp-convention name
// ("blk.<N>.attn_q.weight", "token_embd.weight", ...). Used to total bytes per
// class and per layer (inspect), and to group weights for streaming plans.
#include <optional>
#include <string_view>

namespace flashslim::gguf {

enum class TensorClass {
  Attention,  // blk.N.attn_* (including attn_norm and q/k/v biases)
  FFN,        // blk.N.ffn_* (including ffn_norm)
  Embedding,  // token_embd.*
  Output,     // output.*, output_norm.*
  Other,
};

TensorClass classify(std::string_view tensor_name);
const char* tensor_class_name(TensorClass c);  // "attention", "ffn", ...
// N for "blk.N.*"; nullopt for tensors outside the repeated layers.
std::optional<int> layer_index(std::string_view tensor_name);

}  // namespace flashslim::gguf
