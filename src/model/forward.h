#pragma once
// The forward pass of the llama family (llama, qwen2) over a batch of tokens:
// embeddings → n_layer × (RMSNorm, q/k/v, RoPE, causal GQA attention over the
// KV cache, output projection, residual, RMSNorm, SwiGLU FFN, residual) →
// RMSNorm → vocabulary projection. Every weight comes from the WeightAccess,
// one schedule step at a time. All buffers are allocated in the constructor;
// eval() does not allocate.
#include <cstdint>
#include <span>
#include <vector>

#include "kernels/matmul.h"
#include "kernels/thread_pool.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "model/op_profile.h"
#include "model/weight_access.h"

namespace flashslim {

struct ForwardOptions {
  int32_t n_ctx = 0;      // positions the KV cache holds
  int32_t n_batch = 512;  // most tokens evaluated in one pass (prefill chunk)
  KvType kv_type = KvType::F16;
  // Per-op timings are added here when set (model/op_profile.h); null = not timed.
  OpProfile* op_profile = nullptr;
};

class Forward {
 public:
  Forward(const Model& model, WeightAccess& weights, ThreadPool& pool, const ForwardOptions& opt);

  // Bytes this object allocates for the options (KV cache, activations,
  // scratch), for budget accounting before anything is allocated.
  static uint64_t memory_bytes(const HParams& hp, const ForwardOptions& opt, int n_threads);

  // Evaluates `tokens` at positions n_past() .. n_past()+n-1, in passes of at
  // most n_batch tokens. Writes logits: for every token (n × n_vocab floats)
  // if all_logits, else only for the last token (n_vocab floats).
  // Error if the context would overflow or a token id is out of range.
  void eval(std::span<const int32_t> tokens, std::span<float> logits, bool all_logits);

  int32_t n_past() const { return n_past_; }
  int32_t n_ctx() const { return opt_.n_ctx; }
  int32_t n_vocab() const { return hp_.n_vocab; }
  void reset() { n_past_ = 0; }

 private:
  void eval_batch(std::span<const int32_t> tokens, float* logits, bool all_logits);
  void attention(int32_t layer, int32_t n_tokens);
  const QuantizedActivations& quantized(GgmlType weight_type, const float* x, int64_t n_tokens,
                                        int64_t cols);

  const Model& model_;
  const HParams& hp_;
  WeightAccess& weights_;
  ThreadPool& pool_;
  ForwardOptions opt_;
  KvCache kv_;
  int32_t n_past_ = 0;

  // Activations, n_batch rows each: the residual stream x, the normed input xb,
  // q/k/v projections, the attention result, FFN gate and up.
  std::vector<float> x_, xb_, q_, k_, v_, attn_, gate_, up_, head_out_;
  std::vector<uint8_t> act_scratch_;
  QuantizedActivations act_;  // last quantization, reused while inputs match
  const float* act_source_ = nullptr;
  // Per-thread attention scratch: scores over n_ctx positions, and the query /
  // probabilities rounded to f16 when the KV cache is f16.
  std::vector<float> scores_;
  std::vector<uint16_t> scores_f16_, q_f16_;
};

}  // namespace flashslim
