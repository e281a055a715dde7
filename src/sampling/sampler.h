#pragma once
// Token sampling as llama.cpp's default chain: repeat penalty, top-k, top-p,
// min-p, temperature, then a seeded random draw; temp <= 0 is greedy argmax
// (ties to the lowest id).
#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace flashslim {

struct SamplerParams {
  float temperature = 0.8f;
  int32_t top_k = 40;           // <= 0: off
  float top_p = 0.95f;          // >= 1: off
  float min_p = 0.05f;          // <= 0: off
  float repeat_penalty = 1.0f;  // 1: off
  int32_t repeat_last_n = 64;   // tokens the penalty looks back over; 0: off
  uint64_t seed = 0xFFFFFFFF;   // LLAMA_DEFAULT_SEED: random seed
};

// Not thread-safe: one Sampler per generation stream.
class Sampler {
 public:
  // Throws Error on parameters llama.cpp would reject (n_vocab <= 0,
  // repeat_last_n < 0, repeat_penalty <= 0).
  Sampler(const SamplerParams& params, int32_t n_vocab);
  // Picks a token from raw logits (n_vocab of them). No heap allocation after
  // construction.
  int32_t sample(std::span<const float> logits);
  // Records a token (prompt or generated) for the repeat penalty.
  void accept(int32_t token);

 private:
  struct Candidate {
    int32_t id;
    float logit;
  };
  void apply_repeat_penalty();
  int32_t argmax() const;
  // Each stage keeps a prefix of candidates_[0, n_candidates_); after
  // sort_and_top_k() that prefix is sorted by logit, descending.
  void sort_and_top_k();
  void top_p();
  void min_p();
  int32_t draw();

  SamplerParams params_;
  int32_t n_vocab_;
  std::mt19937 rng_;
  // Last repeat_last_n accepted tokens as a ring.
  std::vector<int32_t> history_;
  size_t history_next_ = 0;
  size_t history_size_ = 0;
  // Per id, set while one penalty pass runs, so each distinct token in the
  // history is penalized once (as llama.cpp's token-count map does).
  std::vector<uint8_t> penalized_;
  std::vector<Candidate> candidates_;  // n_vocab entries, reused every call
  size_t n_candidates_ = 0;
  std::vector<double> probs_;  // softmax of the kept candidates, reused every call
};

}  // namespace flashslim
