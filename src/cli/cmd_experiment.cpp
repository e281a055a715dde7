// flashslim experiment: runs a whole experiment (a JSON config, or a one-off matrix from
// flags) as fresh `flashslim run` children under memory cgroups, and writes the results
// directory that `flashslim report` turns into a report (docs/experiments.md).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "bench/experiment_config.h"
#include "bench/experiment_runner.h"
#include "bench/experiment_summary.h"
#include "cli/commands.h"
#include "core/error.h"

namespace flashslim::cli {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct ExperimentFlags {
  std::string config_path;
  std::string results_dir;
  std::string flashslim_binary;
  // The one-off matrix, as the config keys of the same names.
  std::string name;
  std::vector<std::string> models, modes, budgets, sampling;
  std::vector<int> threads, ctx, prompt_tokens, gen_tokens, background_load, cpus;
  int repetitions = -1, warmup = -1, read_ahead_kb = -1;
  double timeout_s = -1;
  bool mlock = false, warm_cache = false;
};

// The flags as a config document, so they go through the same checks as a file.
json matrix_document(const ExperimentFlags& f) {
  json doc = json::object();
  if (!f.name.empty()) doc["name"] = f.name;
  if (!f.models.empty()) doc["models"] = f.models;
  if (!f.modes.empty()) doc["modes"] = f.modes;
  if (!f.budgets.empty()) doc["budgets"] = f.budgets;
  if (!f.threads.empty()) doc["threads"] = f.threads;
  if (!f.ctx.empty()) doc["ctx"] = f.ctx;
  if (!f.prompt_tokens.empty()) doc["prompt_tokens"] = f.prompt_tokens;
  if (!f.gen_tokens.empty()) doc["gen_tokens"] = f.gen_tokens;
  if (!f.background_load.empty()) doc["background_load"] = f.background_load;
  if (!f.cpus.empty()) doc["cpus"] = f.cpus;
  if (f.repetitions >= 0) doc["repetitions"] = f.repetitions;
  if (f.warmup >= 0) doc["warmup"] = f.warmup;
  if (f.read_ahead_kb >= 0) doc["read_ahead_kb"] = f.read_ahead_kb;
  if (f.timeout_s >= 0) doc["timeout_s"] = f.timeout_s;
  if (f.mlock) doc["mlock"] = true;
  if (f.warm_cache) doc["cold_cache"] = false;
  if (!f.sampling.empty()) {
    // "greedy" or "NAME:temperature:top_k:top_p:seed".
    json axis = json::array();
    for (const std::string& s : f.sampling) {
      std::vector<std::string> parts;
      std::stringstream in(s);
      for (std::string part; std::getline(in, part, ':');) parts.push_back(part);
      json item = {{"name", parts[0]}};
      try {
        if (parts.size() > 1) item["temperature"] = std::stod(parts[1]);
        if (parts.size() > 2) item["top_k"] = std::stoi(parts[2]);
        if (parts.size() > 3) item["top_p"] = std::stod(parts[3]);
        if (parts.size() > 4) item["seed"] = std::stoull(parts[4]);
      } catch (const std::exception&) {
        fail("--sampling {}: expected NAME[:TEMPERATURE[:TOP_K[:TOP_P[:SEED]]]]", s);
      }
      if (parts.size() > 5) fail("--sampling {}: expected at most 5 ':'-separated fields", s);
      axis.push_back(item);
    }
    doc["sampling"] = axis;
  }
  return doc;
}

void run(const ExperimentFlags& f) {
  const json matrix = matrix_document(f);
  bench::ExperimentConfig config;
  bench::RunnerOptions options;
  if (!f.config_path.empty()) {
    if (!matrix.empty())
      fail(
          "--config {}: give the experiment either as a file or as matrix flags, not both "
          "(found {})",
          f.config_path, matrix.dump());
    config = bench::load_experiment_config(f.config_path);
    std::ifstream in(f.config_path);
    std::stringstream text;
    text << in.rdbuf();
    options.config_text = text.str();
  } else {
    json doc = matrix;
    if (!doc.contains("name")) doc["name"] = fs::path(f.results_dir).filename().string();
    config = bench::parse_experiment_config(doc, "command line");
    options.config_text = doc.dump(2) + "\n";
  }
  options.results_dir = f.results_dir;
  options.flashslim_binary = f.flashslim_binary.empty() ? fs::read_symlink("/proc/self/exe")
                                                        : fs::path(f.flashslim_binary);
  options.progress = ::isatty(STDERR_FILENO) != 0;

  const bench::ExperimentOutcome outcome = bench::run_experiment(config, options);
  std::printf("experiment %s: %zu runs, %zu ok; results in %s\n\n%s\n%s", config.name.c_str(),
              outcome.runs, outcome.runs_ok, f.results_dir.c_str(),
              bench::format_configurations(outcome.summary).c_str(),
              bench::format_criteria(outcome.summary).c_str());
}

}  // namespace

void register_experiment_command(CLI::App& app) {
  auto f = std::make_shared<ExperimentFlags>();
  CLI::App* cmd = app.add_subcommand(
      "experiment",
      "Run an experiment: each run a fresh `flashslim run` in a memory cgroup (limit = budget), "
      "pinned, cold cache, optional background load; per-token latencies, RSS, faults, I/O; "
      "summary and seed 002 criteria (docs/experiments.md)");
  cmd->add_option("--config", f->config_path, "Experiment config (JSON; see configs/)")
      ->check(CLI::ExistingFile);
  cmd->add_option("-o,--results", f->results_dir, "Results directory to create")->required();
  cmd->add_option("--flashslim-bin", f->flashslim_binary,
                  "flashslim binary to measure (default: this one)");
  cmd->add_option("--name", f->name, "Experiment name (matrix flags)");
  cmd->add_option("-m,--model", f->models, "GGUF model file(s)")->delimiter(',');
  cmd->add_option("--modes", f->modes, "resident, mmap, sync, stream (comma list)")->delimiter(',');
  cmd->add_option("--budgets", f->budgets, "Memory budgets: none, 512M, 50% (comma list)")
      ->delimiter(',');
  cmd->add_option("-t,--threads", f->threads, "Compute threads (comma list)")->delimiter(',');
  cmd->add_option("-c,--ctx", f->ctx, "Context sizes, tokens (comma list)")->delimiter(',');
  cmd->add_option("-p,--prompt-tokens", f->prompt_tokens, "Prompt lengths, tokens (comma list)")
      ->delimiter(',');
  cmd->add_option("-n,--gen-tokens", f->gen_tokens, "Generated tokens (comma list)")
      ->delimiter(',');
  cmd->add_option(
      "--sampling", f->sampling,
      "Sampling settings NAME[:TEMP[:TOP_K[:TOP_P[:SEED]]]] (repeatable; default greedy)");
  cmd->add_option("--load", f->background_load, "Background CPU load, percent (comma list)")
      ->delimiter(',');
  cmd->add_option("-r,--repetitions", f->repetitions, "Measured runs per configuration");
  cmd->add_option("--warmup", f->warmup, "Discarded runs per configuration");
  cmd->add_option("--cpus", f->cpus, "Pin runs to these CPUs (comma list)")->delimiter(',');
  cmd->add_flag("--mlock", f->mlock, "Lock resident weights (flashslim run --mlock)");
  cmd->add_flag("--warm-cache", f->warm_cache, "Do not drop the page cache before each run");
  cmd->add_option("--read-ahead-kb", f->read_ahead_kb, "Block-device read-ahead during runs");
  cmd->add_option("--timeout", f->timeout_s, "Seconds before a run is killed");
  cmd->callback([f] {
    if (f->config_path.empty() && f->models.empty())
      fail("give --config FILE.json or at least -m MODEL and --modes");
    run(*f);
  });
}

}  // namespace flashslim::cli
