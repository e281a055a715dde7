#pragma once
// An experiment: which runs to make and under which controls, read from JSON (format in
// docs/experiments.md). The axes (models × modes × budgets × threads × ctx × prompt and
// generation lengths × sampling × background load) are expanded as a cartesian product;
// `variants` repeat that product with some settings overridden (e.g. seed 002's
// baseline / pinning / pinning + mlock / contended), each variant a named group.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/size.h"

namespace flashslim::bench {

// A model file, or one `flashslim gen-model --preset P --type T` generates.
struct ModelSpec {
  std::string path;           // when given as a file
  std::string gen_preset;     // when generated, e.g. "tinyllama-1.1b"
  std::string gen_type;       // e.g. "Q4_0"
  std::string label() const;  // file stem, or "tinyllama-1.1b-Q4_0"
};

// Memory budget of a run: none (no limit), absolute bytes, or a share of the model file.
struct BudgetSpec {
  std::string text;              // as written: "none", "512M", "50%"
  std::optional<SizeSpec> size;  // std::nullopt for "none"
  // Bytes for a model file of model_bytes; std::nullopt = unlimited.
  std::optional<uint64_t> resolve(uint64_t model_bytes) const;
};

struct SamplingSpec {
  std::string name;        // how reports label it, e.g. "greedy", "t0.8-topp0.95"
  double temperature = 0;  // 0 = greedy
  int top_k = 0;           // 0 = off
  double top_p = 1;        // 1 = off
  double min_p = 0;        // 0 = off
  uint64_t seed = 0;
};

// Everything one variant runs: the axes and the per-run controls.
struct VariantSettings {
  std::string name;  // "" when the config has no variants
  std::vector<ModelSpec> models;
  std::vector<std::string> modes;  // resident, mmap, sync, stream
  std::vector<BudgetSpec> budgets;
  std::vector<int> threads;
  std::vector<int> ctx;            // context size, tokens
  std::vector<int> prompt_tokens;  // prompt length, tokens
  std::vector<int> gen_tokens;     // tokens generated after the prompt
  std::vector<SamplingSpec> sampling;
  std::vector<int> background_load;  // stress-ng CPU load, percent; 0 = none
  int repetitions = 5;
  int warmup = 1;         // discarded runs before the measured ones
  std::vector<int> cpus;  // CPU affinity of the run; empty = not pinned
  // Lock resident weights (run --mlock) or not (--no-mlock); nullopt: the run's default
  // (flashslim run locks them in sync and stream mode, not in resident and mmap).
  std::optional<bool> mlock;
  bool cold_cache = true;                 // drop the page cache before each run
  std::optional<uint64_t> read_ahead_kb;  // device read-ahead during runs; nullopt = as is
  double timeout_s = 600;
  bool profile_ops = false;  // per-op timings (run --op-profile)
  bool trace = false;        // eBPF trace of block I/O and page faults (bpftrace)
};

struct ExperimentConfig {
  std::string name;
  // Measure the machine's own pass-to-pass jitter once before the runs (machine_jitter.h);
  // a top-level key only: it describes the machine, not a variant.
  bool machine_floor = false;
  // Time the model file's cold reads in windows of a token's streamed bytes once before the
  // runs, per stream and sync budget (disk_floor.h); top level only, as machine_floor.
  bool disk_floor = false;
  std::vector<VariantSettings> variants;  // one unnamed variant when none are given
};

// `source` names the document in errors ("experiment.json: budgets[2] = '12Q': ...").
ExperimentConfig parse_experiment_config(const nlohmann::json& json, const std::string& source);
// Reads and parses a file; JSON syntax errors name the file. Relative model paths are
// taken relative to the file's directory.
ExperimentConfig load_experiment_config(const std::filesystem::path& path);

// One child process to run: one point of a variant's product, one repetition.
struct RunSpec {
  size_t index = 0;         // position in the run order
  size_t config_index = 0;  // which configuration (variant × axes point), 0-based
  int repetition = 0;       // 0-based among measured runs (or among warm-up runs)
  bool warmup = false;
  std::string variant;
  ModelSpec model;
  std::string mode;
  BudgetSpec budget;
  int threads = 0, ctx = 0, prompt_tokens = 0, gen_tokens = 0;
  SamplingSpec sampling;
  int background_load = 0;
  std::vector<int> cpus;
  std::optional<bool> mlock;
  bool cold_cache = true;
  std::optional<uint64_t> read_ahead_kb;
  double timeout_s = 0;
  bool profile_ops = false, trace = false;

  // "baseline tinyllama-1.1b-Q4_0 mmap budget=50% t2 ctx512 p128 n64 greedy load0"
  std::string configuration_label() const;
};

// All runs in execution order: first every configuration's warm-up runs, then rounds of
// measured runs, each round visiting every configuration once, so slow drift of the
// machine spreads over all configurations instead of biasing the last ones.
std::vector<RunSpec> expand_runs(const ExperimentConfig& config);
nlohmann::json to_json(const RunSpec& run);

}  // namespace flashslim::bench
