// The example experiment configs in configs/ parse and expand to the runs they promise.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "bench/experiment_config.h"

using namespace flashslim::bench;

namespace {

// configs/ of the source tree this test was compiled from (tests/..).
std::filesystem::path config_path(const std::string& name) {
  return std::filesystem::path(__FILE__).parent_path().parent_path() / "configs" / name;
}

}  // namespace

TEST(BenchConfigs, Seed002MatrixHasTheSeedsVariants) {
  const ExperimentConfig config = load_experiment_config(config_path("seed002-matrix.json"));
  std::vector<std::string> names;
  for (const VariantSettings& v : config.variants) names.push_back(v.name);
  EXPECT_EQ(names, (std::vector<std::string>{"baseline", "pinning", "pinning+mlock",
                                             "full-isolation", "contended"}));
  EXPECT_EQ(config.variants[4].background_load, (std::vector<int>{25, 50, 75}));
  // 2 modes × 2 sampling strategies in each of 4 uncontended variants (16), and × 3 load
  // levels in the contended one (12); each run once to warm up and 5 times measured.
  const std::vector<RunSpec> runs = expand_runs(config);
  EXPECT_EQ(runs.size(), (16u + 12u) * (1 + 5));
  // Every run starts on a cold page cache (docs/experiments.md, "seed 002 matrix").
  for (const RunSpec& run : runs) EXPECT_TRUE(run.cold_cache) << run.configuration_label();
}

TEST(BenchConfigs, BudgetSweepCoversModesAndBudgets) {
  const ExperimentConfig config = load_experiment_config(config_path("budget-sweep.json"));
  ASSERT_EQ(config.variants.size(), 1u);
  const std::vector<RunSpec> runs = expand_runs(config);
  EXPECT_EQ(runs.size(), 3u * 6u * 3u);
  std::set<std::string> modes;
  for (const RunSpec& run : runs) modes.insert(run.mode);
  EXPECT_EQ(modes, (std::set<std::string>{"mmap", "stream", "sync"}));
  EXPECT_EQ(runs[0].budget.resolve(637000000), 159250000u);  // 25% of a 637 MB file
  EXPECT_EQ(runs[0].model.label(), "tinyllama-1.1b-Q4_0");
}

TEST(BenchConfigs, StreamTargetsMeasuresUntracedAndTracesSeparately) {
  const ExperimentConfig config = load_experiment_config(config_path("stream-targets.json"));
  const std::vector<RunSpec> runs = expand_runs(config);
  // measured: 2 modes × (1 warm-up + 5); traced: 2 modes × 1.
  ASSERT_EQ(runs.size(), 2u * 6u + 2u);
  size_t traced = 0;
  for (const RunSpec& run : runs) {
    EXPECT_TRUE(run.profile_ops);
    EXPECT_EQ(run.trace, run.variant == "traced");
    EXPECT_EQ(run.budget.text, "50%");
    traced += run.trace;
    // The tail target is each measured run's own p99: over n decode tokens (gen_tokens - 1)
    // it interpolates at (n - 1) * 0.99, which leaves out the slowest token only from n = 101
    // on (with 31 it is 0.3 x the second slowest + 0.7 x the slowest).
    if (run.variant == "measured") {
      EXPECT_GE(run.gen_tokens - 1, 101);
      EXPECT_LE(run.prompt_tokens + run.gen_tokens, run.ctx);
    }
  }
  EXPECT_EQ(traced, 2u);
  // Both floors under the tail target: the machine's and the disk's at the stream budget.
  EXPECT_TRUE(config.machine_floor);
  EXPECT_TRUE(config.disk_floor);
}
