#include "model/hparams.h"

#include <array>

#include "core/error.h"

namespace flashslim {

namespace {

constexpr std::array kArchitectures = {
    ArchitectureTraits{"llama", ops::RopeStyle::Norm, false},
    ArchitectureTraits{"qwen2", ops::RopeStyle::Neox, true},
};

int32_t positive_int(const gguf::File& f, const std::string& key, int64_t max) {
  const auto v = f.meta.get_uint(key);
  if (!v) fail("{}: missing metadata key '{}'", f.path, key);
  if (*v == 0 || *v > static_cast<uint64_t>(max))
    fail("{}: metadata '{}' = {} is out of range (1..{})", f.path, key, *v, max);
  return static_cast<int32_t>(*v);
}

}  // namespace

const ArchitectureTraits& architecture_traits(const std::string& name) {
  for (const auto& a : kArchitectures)
    if (name == a.name) return a;
  fail("unsupported architecture '{}' (supported: llama, qwen2)", name);
}

HParams read_hparams(const gguf::File& f) {
  HParams hp;
  hp.arch = f.architecture();
  const ArchitectureTraits& traits = architecture_traits(hp.arch);
  hp.rope_style = traits.rope_style;
  const std::string p = hp.arch + ".";
  constexpr int64_t kMaxDim = 1 << 20;
  hp.n_ctx_train = positive_int(f, p + "context_length", 1 << 24);
  hp.n_embd = positive_int(f, p + "embedding_length", kMaxDim);
  hp.n_layer = positive_int(f, p + "block_count", 4096);
  hp.n_ff = positive_int(f, p + "feed_forward_length", kMaxDim);
  hp.n_head = positive_int(f, p + "attention.head_count", 16384);
  hp.n_head_kv = f.meta.find(p + "attention.head_count_kv")
                     ? positive_int(f, p + "attention.head_count_kv", hp.n_head)
                     : hp.n_head;
  if (hp.n_embd % hp.n_head != 0)
    fail("{}: embedding_length {} is not a multiple of attention.head_count {}", f.path, hp.n_embd,
         hp.n_head);
  if (hp.n_head % hp.n_head_kv != 0)
    fail("{}: attention.head_count {} is not a multiple of head_count_kv {}", f.path, hp.n_head,
         hp.n_head_kv);
  hp.head_dim = hp.n_embd / hp.n_head;
  if (hp.head_dim % 2 != 0)
    fail("{}: head dimension {} is odd; RoPE needs pairs", f.path, hp.head_dim);
  if (auto rot = f.meta.get_uint(p + "rope.dimension_count"); rot && *rot != uint64_t(hp.head_dim))
    fail("{}: partial RoPE ({} of {} dims) is not supported", f.path, *rot, hp.head_dim);
  if (auto kl = f.meta.get_uint(p + "attention.key_length"); kl && *kl != uint64_t(hp.head_dim))
    fail("{}: attention.key_length {} differs from n_embd/n_head {}; not supported", f.path, *kl,
         hp.head_dim);

  if (auto v = f.meta.get_float(p + "rope.freq_base")) hp.rope_freq_base = static_cast<float>(*v);
  if (auto v = f.meta.get_float(p + "attention.layer_norm_rms_epsilon"))
    hp.rms_norm_eps = static_cast<float>(*v);
  const auto scaling = f.meta.get_string(p + "rope.scaling.type");
  if (scaling && *scaling != "none" && *scaling != "linear")
    fail("{}: rope.scaling.type '{}' is not supported (only none and linear)", f.path, *scaling);
  float factor = 0.0f;
  if (auto v = f.meta.get_float(p + "rope.scaling.factor")) factor = static_cast<float>(*v);
  if (auto v = f.meta.get_float(p + "rope.scale_linear")) factor = static_cast<float>(*v);
  if (scaling != "none" && factor > 0.0f) hp.rope_freq_scale = 1.0f / factor;
  if (f.meta.find(p + "attention.sliding_window"))
    fail("{}: sliding-window attention ({}attention.sliding_window) is not supported", f.path, p);

  const gguf::TensorInfo* embd = f.find_tensor("token_embd.weight");
  if (!embd) fail("{}: tensor 'token_embd.weight' is missing", f.path);
  if (embd->n_dims != 2 || embd->ne[0] != hp.n_embd)
    fail("{}: tensor 'token_embd.weight' has shape [{}, {}], expected [{}, n_vocab]", f.path,
         embd->ne[0], embd->ne[1], hp.n_embd);
  hp.n_vocab = static_cast<int32_t>(embd->ne[1]);
  hp.tied_embeddings = f.find_tensor("output.weight") == nullptr;
  return hp;
}

}  // namespace flashslim
