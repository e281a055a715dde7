// flashslim bench: two jobs behind one command.
// - Without --out-dir: resident-model prompt and generation throughput with llama-bench's
//   conventions (tests ppN / tgN, mean ± sd over repetitions, -o md|csv|json|jsonl).
// - With --out-dir DIR: an experiment (a JSON config, or a matrix from flags), each run a
//   fresh `flashslim run` child under a memory cgroup, written to DIR, which
//   `flashslim report` turns into a report (docs/experiments.md).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "bench/experiment_config.h"
#include "bench/experiment_runner.h"
#include "bench/experiment_summary.h"
#include "bench/llama_bench.h"
#include "cli/commands.h"
#include "core/error.h"
#include "kernels/kernel_table.h"

namespace flashslim::cli {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct BenchFlags {
  // Shared by both jobs (lists of the llama-bench flags of the same names).
  std::vector<std::string> models;
  std::vector<int> prompt_tokens, gen_tokens, threads;
  int repetitions = -1;
  // The llama-bench table.
  int32_t n_batch = 512;
  std::string kv_type = "f16";
  std::string mode;
  std::string output = "md";
  std::string output_file;
  std::string cpu_isa = "auto";
  // The experiment: a file, or a matrix as the config keys of the same names.
  std::string out_dir;
  std::string config_path;
  std::string flashslim_binary;
  std::string name;
  std::vector<std::string> modes, budgets, sampling;
  std::vector<int> ctx, background_load, cpus;
  int warmup = -1, read_ahead_kb = -1;
  double timeout_s = -1;
  bool mlock = false, warm_cache = false, profile_ops = false, trace = false, machine_floor = false;
  bool disk_floor = false;
};

void run_table(const BenchFlags& f) {
  bench::LlamaBenchConfig c;
  if (f.models.size() != 1)
    fail("-m: the throughput table takes one model (got {})", f.models.size());
  c.model_path = f.models[0];
  if (!f.prompt_tokens.empty()) c.n_prompt.assign(f.prompt_tokens.begin(), f.prompt_tokens.end());
  if (!f.gen_tokens.empty()) c.n_gen.assign(f.gen_tokens.begin(), f.gen_tokens.end());
  if (!f.threads.empty()) c.threads.assign(f.threads.begin(), f.threads.end());
  if (f.repetitions > 0) c.repetitions = f.repetitions;
  c.n_batch = f.n_batch;
  c.kv_type = f.kv_type;
  if (!f.mode.empty()) c.mode = f.mode;
  const bench::BenchFormat format = bench::parse_bench_format(f.output);
  if (f.cpu_isa != "auto") select_kernel_isa(f.cpu_isa);
  const auto records = bench::run_llama_bench(c, [](const std::string& test) {
    std::fprintf(stderr, "flashslim bench: %s\n", test.c_str());
  });
  if (f.output_file.empty()) {
    bench::write_records(std::cout, records, format);
  } else {
    std::ofstream out(f.output_file);
    bench::write_records(out, records, format);
    if (!out) fail("--output-file {}: cannot write the file", f.output_file);
  }
}

// "greedy" or "NAME:temperature:top_k:top_p:seed" as a config `sampling` item.
json sampling_item(const std::string& s) {
  std::vector<std::string> parts;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, ':');) parts.push_back(part);
  if (parts.empty() || parts.size() > 5)
    fail("--sampling {}: expected NAME[:TEMPERATURE[:TOP_K[:TOP_P[:SEED]]]]", s);
  json item = {{"name", parts[0]}};
  try {
    if (parts.size() > 1) item["temperature"] = std::stod(parts[1]);
    if (parts.size() > 2) item["top_k"] = std::stoi(parts[2]);
    if (parts.size() > 3) item["top_p"] = std::stod(parts[3]);
    if (parts.size() > 4) item["seed"] = std::stoull(parts[4]);
  } catch (const std::exception&) {
    fail("--sampling {}: expected NAME[:TEMPERATURE[:TOP_K[:TOP_P[:SEED]]]]", s);
  }
  return item;
}

// The matrix flags as a config document, so they go through the same checks as a file.
json matrix_document(const BenchFlags& f) {
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
    json axis = json::array();
    for (const std::string& s : f.sampling) axis.push_back(sampling_item(s));
    doc["sampling"] = axis;
  }
  return doc;
}

void run_experiment(const BenchFlags& f) {
  json matrix = matrix_document(f);
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
    if (f.models.empty() || f.modes.empty())
      fail("--out-dir {}: give --config FILE.json, or at least -m MODEL and --modes", f.out_dir);
    if (!matrix.contains("name")) matrix["name"] = fs::path(f.out_dir).filename().string();
    config = bench::parse_experiment_config(matrix, "command line");
    options.config_text = matrix.dump(2) + "\n";
  }
  // The profiling switches apply to every run, whether the matrix comes from a file or flags.
  for (bench::VariantSettings& v : config.variants) {
    v.profile_ops = v.profile_ops || f.profile_ops;
    v.trace = v.trace || f.trace;
  }
  config.machine_floor = config.machine_floor || f.machine_floor;
  config.disk_floor = config.disk_floor || f.disk_floor;
  options.results_dir = f.out_dir;
  options.flashslim_binary = f.flashslim_binary.empty() ? fs::read_symlink("/proc/self/exe")
                                                        : fs::path(f.flashslim_binary);
  options.progress = ::isatty(STDERR_FILENO) != 0;

  const bench::ExperimentOutcome outcome = bench::run_experiment(config, options);
  std::printf("experiment %s: %zu runs, %zu ok; results in %s\n\n%s\n%s", config.name.c_str(),
              outcome.runs, outcome.runs_ok, f.out_dir.c_str(),
              bench::format_configurations(outcome.summary).c_str(),
              bench::format_criteria(outcome.summary).c_str());
}

}  // namespace

void register_bench_command(CLI::App& app) {
  auto f = std::make_shared<BenchFlags>();
  CLI::App* cmd = app.add_subcommand(
      "bench",
      "Benchmark: a llama-bench throughput table (resident/mmap), or with --out-dir an "
      "experiment: each run a fresh `flashslim run` in a memory cgroup (limit = budget), pinned, "
      "cold cache, optional background load, per-op profile and eBPF trace "
      "(docs/experiments.md)");
  cmd->add_option("-m,--model", f->models, "GGUF model file(s) (comma list for experiments)")
      ->delimiter(',');
  cmd->add_option("-p,--n-prompt", f->prompt_tokens,
                  "Prompt tokens (comma list; table: 0 = no pp test)")
      ->delimiter(',')
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_option("-n,--n-gen", f->gen_tokens,
                  "Generated tokens (comma list; table: 0 = no tg test)")
      ->delimiter(',')
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_option("-t,--threads", f->threads, "Thread counts (comma list)")
      ->delimiter(',')
      ->check(CLI::Range(1, 1024));
  cmd->add_option("-r,--repetitions", f->repetitions, "Measured runs per test / configuration")
      ->check(CLI::Range(1, 100000));

  const char* table = "Throughput table";
  const char* experiment = "Experiment";
  CLI::Option* out_dir =
      cmd->add_option("--out-dir", f->out_dir, "Run an experiment; results directory to create")
          ->group(experiment);
  auto table_only = [&](CLI::Option* o) { o->excludes(out_dir)->group(table); };
  table_only(cmd->add_option("-b,--batch-size", f->n_batch, "Most prompt tokens per forward pass")
                 ->check(CLI::Range(1, 1 << 16)));
  table_only(cmd->add_option("--kv-type", f->kv_type, "KV cache element type: f16 or f32")
                 ->check(CLI::IsMember({"f16", "f32"})));
  table_only(cmd->add_option("--mode", f->mode, "How weights reach memory: resident or mmap"));
  table_only(cmd->add_option("-o,--output", f->output, "Output format: md, csv, json or jsonl")
                 ->check(CLI::IsMember({"md", "csv", "json", "jsonl"})));
  table_only(
      cmd->add_option("--output-file", f->output_file, "Write the table here instead of stdout"));
  table_only(cmd->add_option("--cpu-isa", f->cpu_isa,
                             "Kernels: auto, scalar, avx2, avx2+vnni, avx512 "
                             "(FLASHSLIM_FORCE_SCALAR=1 also forces scalar)"));

  auto needs_out_dir = [&](CLI::Option* o) { o->needs(out_dir)->group(experiment); };
  needs_out_dir(
      cmd->add_option("--config", f->config_path, "Experiment config (JSON; see configs/)")
          ->check(CLI::ExistingFile));
  needs_out_dir(cmd->add_option("--flashslim-bin", f->flashslim_binary,
                                "flashslim binary to measure (default: this one)"));
  needs_out_dir(cmd->add_option("--name", f->name, "Experiment name (default: the directory's)"));
  needs_out_dir(cmd->add_option("--modes", f->modes, "resident, mmap, sync, stream (comma list)")
                    ->delimiter(','));
  needs_out_dir(
      cmd->add_option("--budgets", f->budgets, "Memory budgets: none, 512M, 50% (comma list)")
          ->delimiter(','));
  needs_out_dir(
      cmd->add_option("-c,--ctx", f->ctx, "Context sizes, tokens (comma list)")->delimiter(','));
  needs_out_dir(cmd->add_option(
      "--sampling", f->sampling,
      "Sampling settings NAME[:TEMP[:TOP_K[:TOP_P[:SEED]]]] (repeatable; default greedy)"));
  needs_out_dir(
      cmd->add_option("--load", f->background_load, "Background CPU load, percent (comma list)")
          ->delimiter(','));
  needs_out_dir(cmd->add_option("--warmup", f->warmup, "Discarded runs per configuration"));
  needs_out_dir(
      cmd->add_option("--cpus", f->cpus, "Pin runs to these CPUs (comma list)")->delimiter(','));
  needs_out_dir(
      cmd->add_flag("--mlock", f->mlock, "Lock resident weights (flashslim run --mlock)"));
  needs_out_dir(
      cmd->add_flag("--warm-cache", f->warm_cache, "Do not drop the page cache before each run"));
  needs_out_dir(
      cmd->add_option("--read-ahead-kb", f->read_ahead_kb, "Block-device read-ahead during runs"));
  needs_out_dir(cmd->add_option("--timeout", f->timeout_s, "Seconds before a run is killed"));
  needs_out_dir(cmd->add_flag("--profile-ops", f->profile_ops,
                              "Per-op timings per token (flashslim run --op-profile)"));
  needs_out_dir(cmd->add_flag("--trace", f->trace,
                              "eBPF trace (bpftrace) of block I/O and page faults per phase"));
  needs_out_dir(cmd->add_flag("--machine-floor", f->machine_floor,
                              "Time a memory sweep of the model's size first: the machine's own "
                              "p99/p50 floor (config key machine_floor)"));
  needs_out_dir(cmd->add_flag("--disk-floor", f->disk_floor,
                              "Time cold reads of the model in windows of a token's planned "
                              "reads first, per stream/sync budget, alone and beside the run's "
                              "threads sweeping the model's bytes once a window: the disk's own "
                              "p99/p50 floor (config key disk_floor)"));
  cmd->callback([f] {
    if (f->models.empty() && f->config_path.empty())
      fail("give -m MODEL (or --out-dir DIR --config FILE.json)");
    if (f->out_dir.empty())
      run_table(*f);
    else
      run_experiment(*f);
  });
}

}  // namespace flashslim::cli
