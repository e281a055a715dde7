#include "model/generate.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"

namespace flashslim {

namespace {
double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}
}  // namespace

TopK top_k_logits(std::span<const float> logits, int k) {
  TopK all;
  all.reserve(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) all.emplace_back(static_cast<int32_t>(i), logits[i]);
  const size_t n = std::min<size_t>(k, all.size());
  std::partial_sort(all.begin(), all.begin() + n, all.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  all.resize(n);
  return all;
}

GenerationResult generate(Forward& forward, Sampler& sampler, std::span<const int32_t> prompt,
                          const GenerationOptions& options,
                          const std::function<bool(int32_t)>& is_end,
                          const std::function<void(int32_t)>& on_token) {
  if (prompt.empty()) fail("the prompt has no tokens");
  const int64_t needed = forward.n_past() + static_cast<int64_t>(prompt.size()) + options.n_predict;
  if (needed > forward.n_ctx())
    fail("prompt ({} tokens) + {} to generate exceed the context of {} tokens (raise -c)",
         prompt.size(), options.n_predict, forward.n_ctx());
  GenerationResult r;
  r.prompt_ids.assign(prompt.begin(), prompt.end());
  const size_t n_vocab = forward.n_vocab();
  const bool all = options.record_logits;
  std::vector<float> logits((all ? prompt.size() : 1) * n_vocab);

  auto start = std::chrono::steady_clock::now();
  forward.eval(prompt, logits, all);
  r.prompt_ms = ms_since(start);
  for (int32_t id : prompt) sampler.accept(id);

  std::span<const float> last(logits.data() + (all ? (prompt.size() - 1) * n_vocab : 0), n_vocab);
  if (all) {
    for (size_t p = 0; p < prompt.size(); ++p)
      r.prompt_topk.push_back(top_k_logits({logits.data() + p * n_vocab, n_vocab}, 10));
    r.last_prompt_logits.assign(last.begin(), last.end());
  }
  r.token_ms.reserve(options.n_predict);
  r.generated_ids.reserve(options.n_predict);
  std::vector<float> step_logits(n_vocab);
  for (int32_t i = 0; i < options.n_predict; ++i) {
    start = std::chrono::steady_clock::now();
    if (all) r.gen_topk.push_back(top_k_logits(last, 10));
    const int32_t id = sampler.sample(last);
    sampler.accept(id);
    r.generated_ids.push_back(id);
    on_token(id);
    const bool end = options.stop_at_end_of_generation && is_end(id);
    if (!end && i + 1 < options.n_predict) {
      forward.eval({&id, 1}, step_logits, false);
      last = step_logits;
    }
    r.token_ms.push_back(ms_since(start));
    if (end) break;
  }
  return r;
}

}  // namespace flashslim
