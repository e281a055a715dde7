#include "model/presets.h"

#include <array>

#include "core/error.h"

namespace flashslim {
namespace {

// Values from each model's published config.json (hidden_size, num_hidden_layers,
// num_attention_heads, num_key_value_heads, intermediate_size, vocab_size,
// max_position_embeddings, rope_theta, rms_norm_eps, tie_word_embeddings).
constexpr std::array kPresets = {
    ModelPreset{.name = "tinyllama-1.1b",
                .display_name = "TinyLlama 1.1B (synthetic)",
                .arch = "llama",
                .n_vocab = 32000,
                .n_ctx_train = 2048,
                .n_embd = 2048,
                .n_layer = 22,
                .n_head = 32,
                .n_head_kv = 4,
                .n_ff = 5632},
    ModelPreset{.name = "llama2-7b",
                .display_name = "Llama 2 7B (synthetic)",
                .arch = "llama",
                .n_vocab = 32000,
                .n_ctx_train = 4096,
                .n_embd = 4096,
                .n_layer = 32,
                .n_head = 32,
                .n_head_kv = 32,
                .n_ff = 11008},
    ModelPreset{.name = "llama2-13b",
                .display_name = "Llama 2 13B (synthetic)",
                .arch = "llama",
                .n_vocab = 32000,
                .n_ctx_train = 4096,
                .n_embd = 5120,
                .n_layer = 40,
                .n_head = 40,
                .n_head_kv = 40,
                .n_ff = 13824},
    ModelPreset{.name = "llama3-8b",
                .display_name = "Llama 3 8B (synthetic)",
                .arch = "llama",
                .n_vocab = 128256,
                .n_ctx_train = 8192,
                .n_embd = 4096,
                .n_layer = 32,
                .n_head = 32,
                .n_head_kv = 8,
                .n_ff = 14336,
                .rope_freq_base = 500000.0f},
    ModelPreset{.name = "mistral-7b",
                .display_name = "Mistral 7B v0.2 (synthetic)",
                .arch = "llama",
                .n_vocab = 32000,
                .n_ctx_train = 32768,
                .n_embd = 4096,
                .n_layer = 32,
                .n_head = 32,
                .n_head_kv = 8,
                .n_ff = 14336,
                .rope_freq_base = 1000000.0f},
    ModelPreset{.name = "qwen2.5-0.5b",
                .display_name = "Qwen2.5 0.5B (synthetic)",
                .arch = "qwen2",
                .n_vocab = 151936,
                .n_ctx_train = 32768,
                .n_embd = 896,
                .n_layer = 24,
                .n_head = 14,
                .n_head_kv = 2,
                .n_ff = 4864,
                .rope_freq_base = 1000000.0f,
                .rms_norm_eps = 1e-6f,
                .tied_embeddings = true,
                .qkv_bias = true},
    ModelPreset{.name = "qwen2.5-7b",
                .display_name = "Qwen2.5 7B (synthetic)",
                .arch = "qwen2",
                .n_vocab = 152064,
                .n_ctx_train = 32768,
                .n_embd = 3584,
                .n_layer = 28,
                .n_head = 28,
                .n_head_kv = 4,
                .n_ff = 18944,
                .rope_freq_base = 1000000.0f,
                .rms_norm_eps = 1e-6f,
                .qkv_bias = true},
    ModelPreset{.name = "test-tiny",
                .display_name = "test-tiny (synthetic)",
                .arch = "llama",
                .n_vocab = 1024,
                .n_ctx_train = 512,
                .n_embd = 256,
                .n_layer = 2,
                .n_head = 4,
                .n_head_kv = 2,
                .n_ff = 512},
};

}  // namespace

std::span<const ModelPreset> model_presets() { return kPresets; }

std::string model_preset_names() {
  std::string names;
  for (const ModelPreset& p : kPresets) {
    if (!names.empty()) names += ", ";
    names += p.name;
  }
  return names;
}

const ModelPreset& find_model_preset(std::string_view name) {
  for (const ModelPreset& p : kPresets) {
    if (p.name == name) return p;
  }
  fail("--preset: unknown preset '{}' (known: {})", name, model_preset_names());
}

}  // namespace flashslim
