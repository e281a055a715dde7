#pragma once
// Descriptive statistics for benchmark samples (per-token latencies in ms, tokens/s,
// peak RSS in bytes, ...). All functions throw Error on an empty sample.
#include <cstddef>
#include <cstdint>
#include <span>

namespace flashslim::bench {

// The p-th percentile, p in [0, 100], by linear interpolation between closest ranks
// (Hyndman & Fan type 7, numpy's default): sort x ascending, h = (n - 1) * p / 100,
// result = x[floor h] + (h - floor h) * (x[floor h + 1] - x[floor h]).
// So p0 = min, p100 = max, p50 = median. `values` need not be sorted.
double percentile(std::span<const double> values, double p);
double median(std::span<const double> values);
double mean(std::span<const double> values);
// Sample standard deviation (divides by n - 1); 0 for a single value.
double sample_sd(std::span<const double> values);
// Coefficient of variation: sample_sd / mean (a fraction, not percent). Throws if the
// mean is 0.
double coefficient_of_variation(std::span<const double> values);

struct Summary {
  size_t count = 0;
  double min = 0, max = 0;
  double mean = 0, sd = 0, cv = 0;  // sd is the sample sd; cv = sd / mean (0 if mean is 0)
  double p50 = 0, p90 = 0, p99 = 0;
};

Summary summarize(std::span<const double> values);

// The spread of repeated timings of the same work (a floor's passes or windows, ms).
struct TimeSpread {
  double p50 = 0, p99 = 0, max = 0;
  double p99_over_p50 = 0;  // 0 when p50 is 0
};
TimeSpread time_spread(std::span<const double> ms);

// How much a cumulative counter sampled at times `t_ns` (ascending) with `values` grew
// between `from_ns` and `to_ns`: its value at each end linearly interpolated between the
// samples around it, held at the first / last sample outside them. 0 without samples.
double counter_growth(std::span<const uint64_t> t_ns, std::span<const double> values,
                      uint64_t from_ns, uint64_t to_ns);

}  // namespace flashslim::bench
