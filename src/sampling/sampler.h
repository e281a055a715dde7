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
  int32_t top_k = 40;       // <= 0: off
  float top_p = 0.95f;      // >= 1: off
  float min_p = 0.05f;      // <= 0: off
  float repeat_penalty = 1.0f;  // 1: off
  int32_t repeat_last_n = 64;   // tokens the penalty looks back over
  uint64_t seed = 0xFFFFFFFF;   // LLAMA_DEFAULT_SEED: random seed
};

class Sampler {
 public:
  Sampler(const SamplerParams& params, int32_t n_vocab);
  // Picks a token from raw logits. No heap allocation after construction.
  int32_t sample(std::span<const float> logits);
  // Records a token (prompt or generated) for the repeat penalty.
  void accept(int32_t token);

 private:
  // implementation-defined state
  SamplerParams params_;
  int32_t n_vocab_;
  std::mt19937 rng_;
  std::vector<int32_t> history_;
  struct Candidate { int32_t id; float logit; float p; };
  std::vector<Candidate> candidates_;
};

}  // namespace flashslim
