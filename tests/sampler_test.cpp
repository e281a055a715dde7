#include "sampling/sampler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>
#include <vector>

#include "core/error.h"

// Counts heap allocations so a test can check that sample() makes none. GCC
// flags the malloc/free pair of a replaced global operator new as mismatched
// wherever it inlines them; here they are matched by construction.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
static std::atomic<long> g_allocations{0};
void* operator new(size_t size) {
  ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace flashslim {
namespace {

SamplerParams plain_temperature(float temperature, uint64_t seed) {
  SamplerParams p;
  p.temperature = temperature;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.seed = seed;
  return p;
}

std::vector<int32_t> draw_many(Sampler& sampler, const std::vector<float>& logits, int n) {
  std::vector<int32_t> ids;
  for (int i = 0; i < n; ++i) ids.push_back(sampler.sample(logits));
  return ids;
}

std::vector<int> histogram(const std::vector<int32_t>& ids, size_t n_vocab) {
  std::vector<int> counts(n_vocab, 0);
  for (int32_t id : ids) ++counts[id];
  return counts;
}

TEST(Sampler, GreedyPicksArgmax) {
  Sampler sampler(plain_temperature(0.0f, 1), 5);
  EXPECT_EQ(sampler.sample(std::vector<float>{0.1f, -3.0f, 2.5f, 2.4f, 0.0f}), 2);
  EXPECT_EQ(sampler.sample(std::vector<float>{-5.0f, -1.0f, -2.0f, -7.0f, -1.5f}), 1);
}

TEST(Sampler, GreedyTiesGoToLowestId) {
  Sampler sampler(plain_temperature(0.0f, 1), 6);
  EXPECT_EQ(sampler.sample(std::vector<float>{0.0f, 1.0f, 3.0f, 1.0f, 3.0f, 3.0f}), 2);
}

TEST(Sampler, TopKOneEqualsGreedy) {
  SamplerParams p = plain_temperature(1.5f, 7);
  p.top_k = 1;
  Sampler top1(p, 8);
  Sampler greedy(plain_temperature(0.0f, 7), 8);
  std::mt19937 gen(3);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<float> logits(8);
    for (float& l : logits) l = normal(gen);
    EXPECT_EQ(top1.sample(logits), greedy.sample(logits));
  }
}

TEST(Sampler, SameSeedSameSequenceDifferentSeedDiffers) {
  const std::vector<float> logits{1.0f, 0.5f, 0.0f, 0.2f, 0.9f, 0.7f, 0.3f, 0.1f};
  Sampler a(plain_temperature(1.0f, 1234), 8);
  Sampler b(plain_temperature(1.0f, 1234), 8);
  Sampler c(plain_temperature(1.0f, 4321), 8);
  const auto seq_a = draw_many(a, logits, 100);
  EXPECT_EQ(seq_a, draw_many(b, logits, 100));
  EXPECT_NE(seq_a, draw_many(c, logits, 100));
}

TEST(Sampler, RepeatPenaltyChangesTheDecision) {
  // Token 0 leads by a little; once it is in the history, 2.0 / 1.5 < 1.8 and
  // a negative logit is pushed further down, so token 1 wins.
  const std::vector<float> logits{2.0f, 1.8f, -0.5f};
  SamplerParams p = plain_temperature(0.0f, 1);
  p.repeat_penalty = 1.5f;
  p.repeat_last_n = 2;
  Sampler sampler(p, 3);
  EXPECT_EQ(sampler.sample(logits), 0);
  sampler.accept(0);
  EXPECT_EQ(sampler.sample(logits), 1);
  // Penalties apply once per distinct token, however often it repeats.
  sampler.accept(0);
  EXPECT_EQ(sampler.sample(std::vector<float>{2.0f, 1.3f, -0.5f}), 0);  // 2.0/1.5 > 1.3
  // After repeat_last_n other tokens, token 0 is no longer penalized.
  sampler.accept(2);
  sampler.accept(2);
  EXPECT_EQ(sampler.sample(logits), 0);
}

TEST(Sampler, TopPExcludesTheTail) {
  // softmax: ids 0,1 carry ~0.93 of the mass; with top_p 0.9 only they survive.
  const std::vector<float> logits{3.0f, 2.5f, 0.0f, -0.2f, -1.0f};
  SamplerParams p = plain_temperature(1.0f, 99);
  p.top_p = 0.9f;
  Sampler sampler(p, 5);
  const auto counts = histogram(draw_many(sampler, logits, 5000), 5);
  EXPECT_GT(counts[0], 0);
  EXPECT_GT(counts[1], 0);
  EXPECT_EQ(counts[2] + counts[3] + counts[4], 0);
}

TEST(Sampler, MinPExcludesUnlikelyTokens) {
  // p_i / p_max = exp(l_i - l_max): ids 0..2 are >= 0.3 of the max, ids 3,4 are not.
  const std::vector<float> logits{1.0f, 0.5f, 0.0f, -0.3f, -2.0f};
  SamplerParams p = plain_temperature(1.0f, 5);
  p.min_p = 0.3f;
  Sampler sampler(p, 5);
  const auto counts = histogram(draw_many(sampler, logits, 5000), 5);
  EXPECT_GT(counts[0], 0);
  EXPECT_GT(counts[1], 0);
  EXPECT_GT(counts[2], 0);
  EXPECT_EQ(counts[3] + counts[4], 0);
}

TEST(Sampler, TemperatureFrequenciesMatchSoftmax) {
  const std::vector<float> logits{1.0f, 0.0f, -0.5f, 2.0f, 0.3f, -1.0f};
  const float temperature = 0.7f;
  Sampler sampler(plain_temperature(temperature, 2024), 6);
  const int n = 60000;
  const auto counts = histogram(draw_many(sampler, logits, n), logits.size());

  std::vector<double> expected(logits.size());
  double sum = 0.0;
  for (size_t i = 0; i < logits.size(); ++i) sum += expected[i] = std::exp(logits[i] / temperature);
  double chi_square = 0.0;
  for (size_t i = 0; i < logits.size(); ++i) {
    const double e = n * expected[i] / sum;
    chi_square += (counts[i] - e) * (counts[i] - e) / e;
  }
  // 5 degrees of freedom: P(chi^2 > 20.5) ~ 0.001. A wrong temperature (e.g. 1.0)
  // gives chi^2 in the thousands at this n.
  EXPECT_LT(chi_square, 20.5);
}

TEST(Sampler, SampleDoesNotAllocate) {
  SamplerParams p = plain_temperature(0.9f, 11);
  p.top_k = 0;
  p.top_p = 0.8f;
  p.min_p = 0.01f;
  p.repeat_penalty = 1.1f;
  const int32_t n_vocab = 4096;
  Sampler sampler(p, n_vocab);
  std::vector<float> logits(n_vocab);
  for (int32_t i = 0; i < n_vocab; ++i) logits[i] = std::sin(0.37f * i) * 4.0f;
  std::vector<int32_t> ids(64);
  const long before = g_allocations.load();
  for (int32_t& id : ids) {
    id = sampler.sample(logits);
    sampler.accept(id);
  }
  EXPECT_EQ(g_allocations.load(), before);
}

TEST(Sampler, RejectsWrongLogitCountAndBadTokens) {
  Sampler sampler(plain_temperature(1.0f, 1), 4);
  EXPECT_THROW(sampler.sample(std::vector<float>{1.0f, 2.0f}), Error);
  EXPECT_THROW(sampler.accept(4), Error);
  EXPECT_THROW(sampler.accept(-1), Error);
}

}  // namespace
}  // namespace flashslim
