#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <map>

#include "bench/experiment_config.h"
#include "core/error.h"

using namespace flashslim::bench;
using nlohmann::json;

namespace {

std::string error_of(const json& document) {
  try {
    parse_experiment_config(document, "experiment.json");
  } catch (const flashslim::Error& e) {
    return e.what();
  }
  return "no error";
}

const json kMinimal = {{"models", {"/models/a.gguf"}}, {"modes", {"mmap"}}};

}  // namespace

TEST(BenchExperimentConfig, ParsesAllSettings) {
  const json document = json::parse(R"({
    "name": "sweep",
    "models": ["/m/tiny.gguf", {"gen": "tinyllama-1.1b", "type": "Q8_0"}, {"gen": "llama-7b"}],
    "modes": ["mmap", "stream"],
    "budgets": ["none", "512M", "50%", 1073741824],
    "threads": [1, 2], "ctx": 1024, "prompt_tokens": [16], "gen_tokens": [32],
    "sampling": [{"name": "greedy"},
                 {"name": "t0.8", "temperature": 0.8, "top_k": 40, "top_p": 0.95, "min_p": 0.05, "seed": 7}],
    "background_load": [0, 50], "repetitions": 3, "warmup": 2, "cpus": [1],
    "mlock": true, "cold_cache": false, "read_ahead_kb": 128, "timeout_s": 30.5
  })");
  const ExperimentConfig config = parse_experiment_config(document, "sweep.json");
  EXPECT_EQ(config.name, "sweep");
  ASSERT_EQ(config.variants.size(), 1u);
  const VariantSettings& s = config.variants[0];
  EXPECT_EQ(s.models[0].label(), "tiny");
  EXPECT_EQ(s.models[1].label(), "tinyllama-1.1b-Q8_0");
  EXPECT_EQ(s.models[2].label(), "llama-7b-Q4_0");  // type defaults to Q4_0
  EXPECT_EQ(s.modes, (std::vector<std::string>{"mmap", "stream"}));
  ASSERT_EQ(s.budgets.size(), 4u);
  EXPECT_EQ(s.budgets[0].resolve(1000), std::nullopt);
  EXPECT_EQ(s.budgets[1].resolve(1000), 512u << 20);
  EXPECT_EQ(s.budgets[2].resolve(1000), 500u);
  EXPECT_EQ(s.budgets[3].resolve(1000), 1073741824u);
  EXPECT_EQ(s.ctx, std::vector<int>{1024});  // a single value is a one-element axis
  EXPECT_DOUBLE_EQ(s.sampling[1].top_p, 0.95);
  EXPECT_EQ(s.sampling[1].seed, 7u);
  EXPECT_EQ(s.repetitions, 3);
  EXPECT_EQ(s.warmup, 2);
  EXPECT_EQ(s.cpus, std::vector<int>{1});
  EXPECT_EQ(s.mlock, true);
  EXPECT_FALSE(s.cold_cache);
  EXPECT_EQ(s.read_ahead_kb, 128u);
  EXPECT_DOUBLE_EQ(s.timeout_s, 30.5);

  // 3 models × 2 modes × 4 budgets × 2 threads × 1 × 1 × 1 × 2 sampling × 2 loads = 192
  // configurations, each run 2 warm-up + 3 measured times.
  const std::vector<RunSpec> runs = expand_runs(config);
  EXPECT_EQ(runs.size(), 192u * 5);
  EXPECT_TRUE(runs.front().warmup);
  EXPECT_FALSE(runs.back().warmup);
  EXPECT_EQ(runs.back().config_index, 191u);
  EXPECT_EQ(runs.back().repetition, 2);
}

TEST(BenchExperimentConfig, DefaultsAndRoundRobinOrder) {
  const json document = {
      {"models", {"a.gguf"}}, {"modes", {"mmap", "stream"}}, {"warmup", 1}, {"repetitions", 2}};
  const ExperimentConfig config = parse_experiment_config(document, "exp.json");
  EXPECT_EQ(config.name, "exp");
  const std::vector<RunSpec> runs = expand_runs(config);
  ASSERT_EQ(runs.size(), 6u);
  // warm-ups of both configurations, then round 0 of both, then round 1 of both.
  const std::vector<std::tuple<bool, int, std::string>> expected = {
      {true, 0, "mmap"},    {true, 0, "stream"}, {false, 0, "mmap"},
      {false, 0, "stream"}, {false, 1, "mmap"},  {false, 1, "stream"}};
  for (size_t i = 0; i < runs.size(); ++i) {
    EXPECT_EQ(runs[i].index, i);
    EXPECT_EQ(std::tuple(runs[i].warmup, runs[i].repetition, runs[i].mode), expected[i]) << i;
  }
  EXPECT_EQ(runs[2].configuration_label(), "a mmap budget=none t2 ctx512 p128 n64 greedy load0");
  const json j = to_json(runs[2]);
  EXPECT_EQ(j.at("budget"), "none");
  EXPECT_EQ(j.at("model").at("label"), "a");
  EXPECT_EQ(j.at("read_ahead_kb"), nullptr);
}

TEST(BenchExperimentConfig, VariantsOverrideTheBase) {
  const json document = json::parse(R"({
    "models": ["m.gguf"], "modes": ["mmap"], "repetitions": 5, "warmup": 0,
    "variants": [
      {"name": "baseline"},
      {"name": "pinning", "cpus": [1]},
      {"name": "contended", "cpus": [1], "mlock": true, "background_load": [25, 50, 75],
       "repetitions": 2}
    ]})");
  const ExperimentConfig config = parse_experiment_config(document, "x.json");
  ASSERT_EQ(config.variants.size(), 3u);
  EXPECT_TRUE(config.variants[0].cpus.empty());
  EXPECT_EQ(config.variants[1].cpus, std::vector<int>{1});
  EXPECT_EQ(config.variants[1].mlock, std::nullopt);
  EXPECT_EQ(config.variants[2].mlock, true);
  const std::vector<RunSpec> runs = expand_runs(config);
  EXPECT_EQ(runs.size(), 5u + 5u + 3u * 2u);
  std::map<std::string, int> per_variant;
  for (const RunSpec& run : runs) ++per_variant[run.variant];
  EXPECT_EQ(per_variant["contended"], 6);
  // Rounds 0-1 visit all 5 configurations; rounds 2-4 only the 5-repetition variants.
  for (size_t i = 10; i < runs.size(); ++i) EXPECT_NE(runs[i].variant, "contended") << i;
  EXPECT_EQ(runs.back().variant, "pinning");
  EXPECT_EQ(runs.back().repetition, 4);
}

TEST(BenchExperimentConfig, ErrorsNameTheKeyAndValue) {
  json d = kMinimal;
  d["budgets"] = {"none", "1G", "12Q"};
  EXPECT_EQ(
      error_of(d),
      "experiment.json: budgets[2] = '12Q': expected bytes with K/M/G suffix or a percentage");
  d = kMinimal;
  d["modes"] = {"mmap", "turbo"};
  EXPECT_EQ(error_of(d),
            "experiment.json: modes[1] = 'turbo': expected one of resident, mmap, sync, stream");
  d = kMinimal;
  d["threads"] = {2, 2.5};
  EXPECT_EQ(error_of(d), "experiment.json: threads[1] = 2.5: expected an integer in [1, 1024]");
  d = kMinimal;
  d["background_load"] = {0, 120};
  EXPECT_EQ(error_of(d),
            "experiment.json: background_load[1] = 120: expected an integer in [0, 100]");
  d = kMinimal;
  d["budget"] = "50%";
  EXPECT_EQ(error_of(d), "experiment.json: unknown key 'budget'");
  d = kMinimal;
  d["budgets"] = json::array();
  EXPECT_EQ(error_of(d), "experiment.json: budgets = []: expected a non-empty array");
  d = kMinimal;
  d["variants"] = {{{"name", "a"}}, {{"name", "b"}, {"mlock", "yes"}}};
  EXPECT_EQ(error_of(d), "experiment.json: variants[1].mlock = 'yes': expected true or false");
  d = kMinimal;
  d["variants"] = {{{"name", "a"}}, {{"name", "a"}}};
  EXPECT_EQ(error_of(d), "experiment.json: variants[1]: variant name 'a' is used twice");
  d = kMinimal;
  d["sampling"] = {{{"name", "hot"}, {"temperature", -1}}};
  EXPECT_EQ(error_of(d),
            "experiment.json: sampling[0].temperature = -1: expected a number in [0, 100]");
  d = kMinimal;
  d["cpus"] = {1, 1};
  EXPECT_EQ(error_of(d), "experiment.json: cpus = [1,1]: expected distinct CPU numbers");
  EXPECT_EQ(error_of({{"modes", {"mmap"}}}), "experiment.json: missing \"models\"");
  EXPECT_EQ(error_of({{"models", {{{"gen", "x"}, {"path", "y"}}}}, {"modes", {"mmap"}}}),
            "experiment.json: models[0] = {\"gen\":\"x\",\"path\":\"y\"}: expected exactly one "
            "of \"path\" and \"gen\"");
}

TEST(BenchExperimentConfig, FloorsAreTopLevelBooleans) {
  const std::pair<const char*, bool ExperimentConfig::*> floors[] = {
      {"machine_floor", &ExperimentConfig::machine_floor},
      {"disk_floor", &ExperimentConfig::disk_floor}};
  for (const auto& [key, member] : floors) {
    SCOPED_TRACE(key);
    EXPECT_FALSE(parse_experiment_config(kMinimal, "experiment.json").*member);
    json d = kMinimal;
    d[key] = true;
    const ExperimentConfig on = parse_experiment_config(d, "experiment.json");
    EXPECT_TRUE(on.*member);
    // Each key sets its own floor only.
    for (const auto& [other_key, other] : floors)
      if (other != member) {
        EXPECT_FALSE(on.*other) << other_key;
      }
    d["variants"] = {{{"name", "a"}}};
    EXPECT_TRUE(parse_experiment_config(d, "experiment.json").*member);
    d[key] = "yes";
    EXPECT_EQ(error_of(d), fmt::format("experiment.json: {} = 'yes': expected true or false", key));
    d = kMinimal;
    d[key] = 1;
    EXPECT_EQ(error_of(d), fmt::format("experiment.json: {} = 1: expected true or false", key));
    // It describes the machine, so a variant cannot set it.
    d = kMinimal;
    d["variants"] = {{{"name", "a"}, {key, true}}};
    EXPECT_EQ(error_of(d), fmt::format("experiment.json: variants[0]: unknown key '{}'", key));
  }
}

TEST(BenchExperimentConfig, LoadNamesTheFileOnBadJson) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("flashslim-bad-experiment-" + std::to_string(::getpid()) + ".json");
  std::ofstream(path) << "{ \"models\": [ ";
  try {
    load_experiment_config(path);
    FAIL() << "no error";
  } catch (const flashslim::Error& e) {
    EXPECT_TRUE(std::string(e.what()).starts_with(path.string() + ": invalid JSON"));
  }
  std::filesystem::remove(path);
}
