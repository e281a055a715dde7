#pragma once
// Runs an experiment (experiment_config.h) and writes its results directory
// (docs/experiments.md): every run is a fresh `flashslim run` child process placed in its
// own memory cgroup (limit = the run's budget), pinned to the configured CPUs, started
// on a cold page cache with the configured device read-ahead and background CPU load,
// and measured from outside (cgroup, rusage, /proc, PSI) and inside (the child's
// --token-log and --stats-json files). A control that cannot be applied (no root, no
// stress-ng, file on tmpfs, ...) is recorded in the run's `notes`, and the run is
// `skipped: REASON` instead when its result would be mislabelled (a budget without a
// memory cgroup, background load without stress-ng, CPUs that do not exist).
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench/experiment_config.h"
#include "bench/prompt_text.h"

namespace flashslim::bench {

struct RunnerOptions {
  std::filesystem::path results_dir;  // created; must not already hold runs
  // The `flashslim` binary whose `run` is measured and whose `gen-model` makes generated
  // models; usually the running one (/proc/self/exe).
  std::filesystem::path flashslim_binary;
  std::string config_text;  // the configuration as given, kept as experiment.json
  bool progress = false;    // a progress line on stderr (runs done / total, ETA, current)
};

struct ExperimentOutcome {
  size_t runs = 0;         // warm-up and measured
  size_t runs_ok = 0;      // status "ok"
  nlohmann::json summary;  // as written to summary.json (experiment_summary.h)
};

// Throws Error when the experiment cannot start (results directory, model generation);
// failures of single runs are recorded in their run.json and the experiment continues.
ExperimentOutcome run_experiment(const ExperimentConfig& config, const RunnerOptions& options);

// Which of the documented measurement flags a `flashslim run` accepts (from its --help),
// so a binary without them is measured from outside only, and the runs say so.
struct RunCapabilities {
  bool token_log = false, stats_json = false, budget = false, mlock = false, no_mlock = false;
  bool op_profile = false, phases = false;
};
RunCapabilities probe_run_capabilities(const std::filesystem::path& flashslim_binary);

// The child's command line: `flashslim run` with the model, prompt, lengths, threads,
// context, mode, sampling, budget and output files of one run (token log, stats, phase
// marks, and the op profile when the run asks for it).
std::vector<std::string> run_command(const std::filesystem::path& flashslim_binary,
                                     const RunSpec& run, const std::string& model_path,
                                     const PromptText& prompt, std::optional<uint64_t> budget_bytes,
                                     const RunCapabilities& capabilities,
                                     const std::filesystem::path& run_dir);

}  // namespace flashslim::bench
