#pragma once
// Shapes of well-known models (the real hyper-parameters of their published
// checkpoints), for writing synthetic GGUF files with random weights.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace flashslim {

struct ModelPreset {
  std::string_view name;          // what --preset takes ("tinyllama-1.1b")
  std::string_view display_name;  // general.name
  std::string_view arch;          // general.architecture: "llama" or "qwen2"
  int32_t n_vocab = 0;
  int32_t n_ctx_train = 0;  // <arch>.context_length
  int32_t n_embd = 0;
  int32_t n_layer = 0;
  int32_t n_head = 0;
  int32_t n_head_kv = 0;
  int32_t n_ff = 0;
  float rope_freq_base = 10000.0f;
  float rms_norm_eps = 1e-5f;
  bool tied_embeddings = false;  // no output.weight: token_embd is also the head
  bool qkv_bias = false;         // blk.N.attn_{q,k,v}.bias (qwen2)

  int32_t head_dim() const { return n_embd / n_head; }
  int32_t n_embd_kv() const { return head_dim() * n_head_kv; }
};

// All presets, the real models first, then "test-tiny" (a few MB, every row
// length a multiple of 256 so every file type applies without fallbacks).
std::span<const ModelPreset> model_presets();
// Error listing the known names if `name` is not one of them.
const ModelPreset& find_model_preset(std::string_view name);
// "tinyllama-1.1b, llama2-7b, ..." for help texts and errors.
std::string model_preset_names();

}  // namespace flashslim
