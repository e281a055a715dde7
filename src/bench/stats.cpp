#include "bench/stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/error.h"

namespace flashslim::bench {
namespace {

void require_values(std::span<const double> values, const char* what) {
  if (values.empty()) fail("{}: no samples", what);
}

double percentile_of_sorted(const std::vector<double>& sorted, double p) {
  const double h = static_cast<double>(sorted.size() - 1) * p / 100.0;
  const size_t lower = static_cast<size_t>(std::floor(h));
  if (lower + 1 >= sorted.size()) return sorted.back();
  return sorted[lower] + (h - static_cast<double>(lower)) * (sorted[lower + 1] - sorted[lower]);
}

std::vector<double> sorted_copy(std::span<const double> values) {
  std::vector<double> sorted(values.begin(), values.end());
  std::sort(sorted.begin(), sorted.end());
  return sorted;
}

double counter_at(std::span<const uint64_t> t_ns, std::span<const double> values, uint64_t t) {
  const auto after = std::upper_bound(t_ns.begin(), t_ns.end(), t);
  if (after == t_ns.begin()) return values.front();
  if (after == t_ns.end()) return values.back();
  const size_t hi = static_cast<size_t>(after - t_ns.begin()), lo = hi - 1;
  const double share = static_cast<double>(t - t_ns[lo]) / static_cast<double>(t_ns[hi] - t_ns[lo]);
  return values[lo] + share * (values[hi] - values[lo]);
}

}  // namespace

double percentile(std::span<const double> values, double p) {
  require_values(values, "percentile");
  if (!(p >= 0 && p <= 100)) fail("percentile: p = {} is outside [0, 100]", p);
  return percentile_of_sorted(sorted_copy(values), p);
}

double median(std::span<const double> values) { return percentile(values, 50); }

double mean(std::span<const double> values) {
  require_values(values, "mean");
  return std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

double sample_sd(std::span<const double> values) {
  require_values(values, "sample_sd");
  if (values.size() == 1) return 0;
  const double m = mean(values);
  double sum_sq = 0;
  for (double v : values) sum_sq += (v - m) * (v - m);
  return std::sqrt(sum_sq / static_cast<double>(values.size() - 1));
}

double coefficient_of_variation(std::span<const double> values) {
  const double m = mean(values);
  if (m == 0) fail("coefficient_of_variation: mean is 0");
  return sample_sd(values) / m;
}

Summary summarize(std::span<const double> values) {
  require_values(values, "summarize");
  const std::vector<double> sorted = sorted_copy(values);
  Summary s;
  s.count = sorted.size();
  s.min = sorted.front();
  s.max = sorted.back();
  s.mean = mean(sorted);
  s.sd = sample_sd(sorted);
  s.cv = s.mean == 0 ? 0 : s.sd / s.mean;
  s.p50 = percentile_of_sorted(sorted, 50);
  s.p90 = percentile_of_sorted(sorted, 90);
  s.p99 = percentile_of_sorted(sorted, 99);
  return s;
}

TimeSpread time_spread(std::span<const double> ms) {
  TimeSpread spread;
  spread.p50 = percentile(ms, 50);
  spread.p99 = percentile(ms, 99);
  spread.max = percentile(ms, 100);
  spread.p99_over_p50 = spread.p50 > 0 ? spread.p99 / spread.p50 : 0;
  return spread;
}

double counter_growth(std::span<const uint64_t> t_ns, std::span<const double> values,
                      uint64_t from_ns, uint64_t to_ns) {
  if (t_ns.size() != values.size())
    fail("counter_growth: {} times, {} values", t_ns.size(), values.size());
  if (t_ns.empty()) return 0;
  return counter_at(t_ns, values, to_ns) - counter_at(t_ns, values, from_ns);
}

}  // namespace flashslim::bench
