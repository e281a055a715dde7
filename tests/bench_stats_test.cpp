#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "bench/stats.h"
#include "core/error.h"

using namespace flashslim::bench;

// Hand-computed for x = {15, 20, 35, 40, 50} (given unsorted): n = 5, sum = 160,
// squared deviations from 32: 289 + 144 + 9 + 64 + 324 = 830, sample variance 830/4.
static const std::vector<double> kData = {50, 15, 40, 20, 35};

TEST(BenchStats, PercentilesInterpolateBetweenClosestRanks) {
  EXPECT_DOUBLE_EQ(percentile(kData, 0), 15);
  EXPECT_DOUBLE_EQ(percentile(kData, 25), 20);    // h = 1
  EXPECT_DOUBLE_EQ(percentile(kData, 40), 29);    // h = 1.6: 20 + 0.6 * 15
  EXPECT_DOUBLE_EQ(percentile(kData, 50), 35);    // h = 2
  EXPECT_DOUBLE_EQ(percentile(kData, 90), 46);    // h = 3.6: 40 + 0.6 * 10
  EXPECT_DOUBLE_EQ(percentile(kData, 99), 49.6);  // h = 3.96
  EXPECT_DOUBLE_EQ(percentile(kData, 100), 50);
}

TEST(BenchStats, MedianOfEvenCountIsMidpoint) {
  const std::vector<double> even = {4, 1, 3, 2};
  EXPECT_DOUBLE_EQ(median(even), 2.5);
}

TEST(BenchStats, MeanSdCv) {
  EXPECT_DOUBLE_EQ(mean(kData), 32);
  EXPECT_NEAR(sample_sd(kData), std::sqrt(830.0 / 4), 1e-12);
  EXPECT_NEAR(coefficient_of_variation(kData), std::sqrt(830.0 / 4) / 32, 1e-12);
  const std::vector<double> one = {7};
  EXPECT_DOUBLE_EQ(sample_sd(one), 0);
}

TEST(BenchStats, SummaryMatchesIndividualFunctions) {
  const Summary s = summarize(kData);
  EXPECT_EQ(s.count, 5u);
  EXPECT_DOUBLE_EQ(s.min, 15);
  EXPECT_DOUBLE_EQ(s.max, 50);
  EXPECT_DOUBLE_EQ(s.mean, 32);
  EXPECT_NEAR(s.sd, 14.404860290887, 1e-9);
  EXPECT_NEAR(s.cv, 0.450151884090, 1e-9);
  EXPECT_DOUBLE_EQ(s.p50, 35);
  EXPECT_DOUBLE_EQ(s.p90, 46);
  EXPECT_DOUBLE_EQ(s.p99, 49.6);
}

TEST(BenchStats, EmptyAndInvalidInputsThrow) {
  const std::vector<double> empty;
  EXPECT_THROW(summarize(empty), flashslim::Error);
  EXPECT_THROW(percentile(kData, 101), flashslim::Error);
  const std::vector<double> zeros = {0, 0};
  EXPECT_THROW(coefficient_of_variation(zeros), flashslim::Error);
}

TEST(BenchStats, CounterGrowthInterpolatesAndHoldsTheEnds) {
  // A counter sampled at 10, 20, 40 ns with values 0, 100, 100.
  const std::vector<uint64_t> t = {10, 20, 40};
  const std::vector<double> v = {0, 100, 100};
  EXPECT_DOUBLE_EQ(counter_growth(t, v, 15, 20), 50);  // 50 at 15 ns, 100 at 20 ns
  EXPECT_DOUBLE_EQ(counter_growth(t, v, 12, 18), 60);
  EXPECT_DOUBLE_EQ(counter_growth(t, v, 20, 40), 0);
  EXPECT_DOUBLE_EQ(counter_growth(t, v, 0, 100), 100);  // held outside the samples
  EXPECT_DOUBLE_EQ(counter_growth(t, v, 50, 100), 0);   // all after the last sample
  EXPECT_DOUBLE_EQ(counter_growth({}, {}, 0, 100), 0);
  const std::vector<double> short_values = {1};
  EXPECT_THROW(counter_growth(t, short_values, 0, 1), flashslim::Error);
}
