#pragma once
// The generation loop: evaluate the prompt as one batch, then sample and
// evaluate one token at a time. Records per-token latency, and optionally the
// logits in the form of llama.cpp's reference files (top-10 per position).
#include <cstdint>
#include <functional>
#include <span>
#include <utility>
#include <vector>

#include "model/forward.h"
#include "sampling/sampler.h"

namespace flashslim {

using TopK = std::vector<std::pair<int32_t, float>>;  // [id, logit], best first
// The k largest logits, ties to the lower id.
TopK top_k_logits(std::span<const float> logits, int k);

struct GenerationOptions {
  int32_t n_predict = 128;
  bool stop_at_end_of_generation = true;
  bool record_logits = false;  // fill the *_topk fields and last_prompt_logits
};

struct GenerationResult {
  std::vector<int32_t> prompt_ids;
  std::vector<int32_t> generated_ids;
  double prompt_ms = 0;          // prompt evaluation, wall time
  std::vector<double> token_ms;  // per generated token: sampling + its evaluation
  // With record_logits:
  std::vector<TopK> prompt_topk;  // per prompt position
  std::vector<float> last_prompt_logits;
  std::vector<TopK> gen_topk;  // before each generated token (step 0 = last prompt position)
};

// `is_end` tells whether a token ends generation; `on_token` sees each
// generated token as soon as it is sampled. Error if prompt + n_predict
// exceed the context.
GenerationResult generate(Forward& forward, Sampler& sampler, std::span<const int32_t> prompt,
                          const GenerationOptions& options,
                          const std::function<bool(int32_t)>& is_end,
                          const std::function<void(int32_t)>& on_token);

}  // namespace flashslim
