#pragma once
// Hyper-parameters of a llama-family model, read from GGUF metadata keys
// "<arch>.*" and checked against each other.
#include <cstdint>
#include <string>

#include "gguf/gguf.h"
#include "kernels/ops.h"

namespace flashslim {

// What differs between the supported architectures; one row per architecture.
struct ArchitectureTraits {
  const char* name;  // general.architecture
  ops::RopeStyle rope_style;
  bool requires_qkv_bias;  // qwen2 has q/k/v biases; llama may have them
};
// Error naming the architecture if it is not supported.
const ArchitectureTraits& architecture_traits(const std::string& name);

struct HParams {
  std::string arch;
  ops::RopeStyle rope_style = ops::RopeStyle::Norm;
  int32_t n_vocab = 0;
  int32_t n_ctx_train = 0;
  int32_t n_embd = 0;
  int32_t n_layer = 0;
  int32_t n_head = 0;
  int32_t n_head_kv = 0;
  int32_t head_dim = 0;  // n_embd / n_head
  int32_t n_ff = 0;
  float rope_freq_base = 10000.0f;
  float rope_freq_scale = 1.0f;  // 1 / linear scaling factor
  float rms_norm_eps = 1e-5f;
  bool tied_embeddings = false;  // no output.weight: token_embd is the head

  int32_t n_embd_kv() const { return n_head_kv * head_dim; }
};

// Reads and validates; Error names the metadata key that is missing or wrong.
HParams read_hparams(const gguf::File& file);

}  // namespace flashslim
