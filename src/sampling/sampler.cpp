#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace flashslim {

namespace {

constexpr uint64_t kRandomSeed = 0xFFFFFFFF;  // LLAMA_DEFAULT_SEED

uint32_t resolve_seed(uint64_t seed) {
  if (seed == kRandomSeed) return std::random_device{}();
  return static_cast<uint32_t>(seed);
}

}  // namespace

Sampler::Sampler(const SamplerParams& params, int32_t n_vocab)
    : params_(params), n_vocab_(n_vocab), rng_(resolve_seed(params.seed)) {
  if (n_vocab <= 0) fail("sampler: vocabulary size {} must be positive", n_vocab);
  if (params.repeat_last_n < 0) {
    fail("sampler: --repeat-last-n {} must be >= 0", params.repeat_last_n);
  }
  if (!(params.repeat_penalty > 0.0f)) {
    fail("sampler: --repeat-penalty {} must be > 0", params.repeat_penalty);
  }
  history_.resize(static_cast<size_t>(params.repeat_last_n));
  penalized_.assign(static_cast<size_t>(n_vocab), 0);
  candidates_.resize(static_cast<size_t>(n_vocab));
  probs_.resize(static_cast<size_t>(n_vocab));
}

void Sampler::accept(int32_t token) {
  if (token < 0 || token >= n_vocab_) {
    fail("sampler: token id {} outside the vocabulary [0, {})", token, n_vocab_);
  }
  if (history_.empty()) return;
  history_[history_next_] = token;
  history_next_ = (history_next_ + 1) % history_.size();
  history_size_ = std::min(history_size_ + 1, history_.size());
}

int32_t Sampler::sample(std::span<const float> logits) {
  if (logits.size() != static_cast<size_t>(n_vocab_)) {
    fail("sampler: got {} logits for a vocabulary of {}", logits.size(), n_vocab_);
  }
  for (int32_t id = 0; id < n_vocab_; ++id) candidates_[id] = {id, logits[id]};
  n_candidates_ = candidates_.size();
  apply_repeat_penalty();
  if (params_.temperature <= 0.0f) return argmax();
  sort_and_top_k();
  top_p();
  min_p();
  return draw();
}

// Only the ring's valid entries count; which ones they are does not matter
// because the penalty depends on presence, not order.
void Sampler::apply_repeat_penalty() {
  if (params_.repeat_penalty == 1.0f || history_size_ == 0) return;
  const float penalty = params_.repeat_penalty;
  for (size_t i = 0; i < history_size_; ++i) {
    const int32_t id = history_[i];
    if (penalized_[id]) continue;
    penalized_[id] = 1;
    float& logit = candidates_[id].logit;  // still indexed by id before sorting
    logit = logit > 0.0f ? logit / penalty : logit * penalty;
  }
  for (size_t i = 0; i < history_size_; ++i) penalized_[history_[i]] = 0;
}

int32_t Sampler::argmax() const {
  size_t best = 0;
  for (size_t i = 1; i < n_candidates_; ++i) {
    if (candidates_[i].logit > candidates_[best].logit) best = i;  // strict: ties keep lowest id
  }
  return candidates_[best].id;
}

void Sampler::sort_and_top_k() {
  const auto higher = [](const Candidate& a, const Candidate& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  };
  const auto begin = candidates_.begin();
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < n_candidates_) {
    n_candidates_ = static_cast<size_t>(params_.top_k);
    std::partial_sort(begin, begin + static_cast<ptrdiff_t>(n_candidates_), candidates_.end(),
                      higher);
  } else {
    std::sort(begin, begin + static_cast<ptrdiff_t>(n_candidates_), higher);
  }
}

// Keeps the shortest sorted prefix whose softmax mass reaches top_p (at least one).
void Sampler::top_p() {
  if (params_.top_p >= 1.0f) return;
  const double max_logit = candidates_[0].logit;
  double sum = 0.0;
  for (size_t i = 0; i < n_candidates_; ++i) {
    probs_[i] = std::exp(static_cast<double>(candidates_[i].logit) - max_logit);
    sum += probs_[i];
  }
  double cumulative = 0.0;
  for (size_t i = 0; i < n_candidates_; ++i) {
    cumulative += probs_[i] / sum;
    if (cumulative >= params_.top_p) {
      n_candidates_ = i + 1;
      return;
    }
  }
}

// p_i >= min_p * p_max  <=>  logit_i >= max_logit + log(min_p), over the kept set.
void Sampler::min_p() {
  if (params_.min_p <= 0.0f) return;
  const float min_logit = candidates_[0].logit + std::log(params_.min_p);
  size_t kept = 1;  // the maximum always passes
  while (kept < n_candidates_ && candidates_[kept].logit >= min_logit) ++kept;
  n_candidates_ = kept;
}

// Softmax of logits / temperature over the kept candidates, then one uniform draw.
int32_t Sampler::draw() {
  const double inv_temp = 1.0 / static_cast<double>(params_.temperature);
  const double max_logit = candidates_[0].logit;
  double sum = 0.0;
  for (size_t i = 0; i < n_candidates_; ++i) {
    probs_[i] = std::exp((static_cast<double>(candidates_[i].logit) - max_logit) * inv_temp);
    sum += probs_[i];
  }
  const double target = std::uniform_real_distribution<double>(0.0, 1.0)(rng_) * sum;
  double cumulative = 0.0;
  for (size_t i = 0; i < n_candidates_; ++i) {
    cumulative += probs_[i];
    if (cumulative >= target) return candidates_[i].id;
  }
  return candidates_[n_candidates_ - 1].id;  // rounding left target just above the total
}

}  // namespace flashslim
