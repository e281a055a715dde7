#include "bench/experiment_runner.h"

#include <fmt/ranges.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "bench/background_load.h"
#include "bench/cgroup.h"
#include "bench/child_process.h"
#include "bench/disk_activity.h"
#include "bench/disk_floor.h"
#include "bench/ebpf_trace.h"
#include "bench/experiment_summary.h"
#include "bench/machine_jitter.h"
#include "bench/provenance.h"
#include "bench/run_activity.h"
#include "bench/run_results.h"
#include "bench/sha256.h"
#include "bench/stats.h"
#include "bench/system_control.h"
#include "core/error.h"
#include "model/model.h"
#include "runtime/memory_budget.h"
#include "storage/page_cache.h"
#include "tokenizer/tokenizer.h"

namespace flashslim::bench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr std::chrono::hours kGenModelTimeout{2};

struct PreparedModel {
  std::string path;  // absolute
  uint64_t bytes = 0;
  std::string sha256;
};

std::string file_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The last non-empty line of a file (a failed child's error message), or "".
std::string last_line(const fs::path& path) {
  std::istringstream lines(file_text(path));
  std::string line, last;
  while (std::getline(lines, line))
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  return last;
}

// What the harness can do on this machine, checked once; the per-run controls consult it.
struct Environment {
  std::optional<CgroupParent> cgroup_parent;
  std::string cgroup_problem;  // why there is none
  MlockAbility mlock;
  cpu_set_t allowed_cpus;  // the harness's own affinity: what a child may be pinned to
  RunCapabilities run;
  std::string trace_problem;  // why runs cannot be traced, or ""
};

Environment probe_environment(const fs::path& flashslim_binary, bool tracing) {
  Environment env;
  try {
    env.cgroup_parent = find_memory_cgroup_parent();
  } catch (const Error& e) {
    env.cgroup_problem = e.what();
  }
  env.mlock = check_mlock_ability();
  CPU_ZERO(&env.allowed_cpus);
  if (::sched_getaffinity(0, sizeof env.allowed_cpus, &env.allowed_cpus) != 0)
    fail("sched_getaffinity of the harness failed");
  env.run = probe_run_capabilities(flashslim_binary);
  if (tracing) {
    env.trace_problem = ebpf_trace_problem();
    if (env.trace_problem.empty() && !env.run.phases)
      env.trace_problem =
          "this flashslim run has no --phases flag to attribute the trace to phases";
  }
  return env;
}

json environment_json(const Environment& env) {
  json cgroup = env.cgroup_parent ? json{{"version", to_string(env.cgroup_parent->version)},
                                         {"parent", env.cgroup_parent->dir.string()}}
                                  : json{{"problem", env.cgroup_problem}};
  return {{"cgroup", cgroup},
          {"mlock",
           {{"cap_ipc_lock", env.mlock.has_cap_ipc_lock},
            {"rlimit_memlock_bytes",
             env.mlock.limit_bytes ? json(*env.mlock.limit_bytes) : json("unlimited")}}},
          {"stress_ng", find_in_path("stress-ng") ? find_in_path("stress-ng")->string() : ""},
          {"run_flags",
           {{"token_log", env.run.token_log},
            {"stats_json", env.run.stats_json},
            {"budget", env.run.budget},
            {"mlock", env.run.mlock},
            {"no_mlock", env.run.no_mlock},
            {"op_profile", env.run.op_profile},
            {"phases", env.run.phases}}},
          {"trace_problem", env.trace_problem}};
}

PreparedModel prepare_model(const ModelSpec& spec, const RunnerOptions& options) {
  PreparedModel model;
  if (!spec.path.empty()) {
    if (!fs::is_regular_file(spec.path)) fail("model {}: no such file", spec.path);
    model.path = fs::absolute(spec.path).string();
  } else {
    const fs::path dir = options.results_dir / "models";
    fs::create_directories(dir);
    const fs::path file = dir / (spec.label() + ".gguf");
    if (!fs::exists(file)) {
      std::fprintf(stderr, "experiment: generating %s (flashslim gen-model)...\n",
                   file.string().c_str());
      ChildSpec gen;
      gen.argv = {options.flashslim_binary.string(),
                  "gen-model",
                  "--preset",
                  spec.gen_preset,
                  "--type",
                  spec.gen_type,
                  "-o",
                  file.string()};
      gen.stdout_path = dir / (spec.label() + ".log");
      gen.stderr_path = dir / (spec.label() + ".err");
      gen.sample_period = std::chrono::milliseconds(0);
      gen.timeout = kGenModelTimeout;
      const ChildResult result = run_child(gen);
      if (!result.succeeded())
        fail("model {}: flashslim gen-model failed ({}): {}", spec.label(), result.describe(),
             last_line(gen.stderr_path));
    }
    model.path = fs::absolute(file).string();
  }
  model.bytes = fs::file_size(model.path);
  model.sha256 = sha256_hex_of_file(model.path);
  return model;
}

// Samples a floor takes: as many as the longest generation has tokens, at least 32 so that
// p99 is not the max.
int floor_samples(const ExperimentConfig& config) {
  constexpr int kMinSamples = 32;
  int samples = kMinSamples;
  for (const VariantSettings& v : config.variants)
    for (int n : v.gen_tokens) samples = std::max(samples, n);
  return samples;
}

// The machine's own jitter (machine_jitter.h) before any run, in this process and not in a
// cgroup: a sweep over the first model's bytes (a resident decode token's memory traffic),
// one pass per floor sample.
void write_machine_floor(const ExperimentConfig& config,
                         const std::map<std::string, PreparedModel>& models,
                         const fs::path& results) {
  const int passes = floor_samples(config);
  const uint64_t bytes =
      machine_floor_bytes(models.at(config.variants.front().models.front().label()).bytes);
  std::fprintf(stderr, "experiment: machine floor: %d passes over %.0f MiB...\n", passes,
               bytes / 1048576.0);
  const std::vector<double> pass_ms = measure_machine_jitter(bytes, passes);
  write_json_file(results / kMachineFloorFile, to_json(machine_floor(bytes, pass_ms)));
}

// The disk's own jitter (disk_floor.h) before any run, in this process and not in a cgroup:
// for each budget of the first model's stream and sync runs, the model file read cold with
// the reads a decode token issues under the plan at that budget, one window (one token's
// reads) per floor sample; then read again so, with the run's threads sweeping the model's
// bytes once a window beside the reads ("beside_compute"). A budget whose floor cannot be
// measured (below a stream plan's minimum, no eviction, no io_uring) says why; the
// experiment goes on.
void write_disk_floor(const ExperimentConfig& config, const std::vector<RunSpec>& runs,
                      const std::map<std::string, PreparedModel>& models, const fs::path& results) {
  const std::string label = config.variants.front().models.front().label();
  const PreparedModel& prepared = models.at(label);
  const Model model(prepared.path);
  const DiskReadShape shape = streaming_read_shape();
  const int windows = floor_samples(config);
  // Once, so every budget's plan assumes the same process.
  const uint64_t baseline_bytes = baseline_rss_bytes();
  // A decode token's memory traffic, as the machine floor's sweep.
  const uint64_t sweep_bytes = machine_floor_bytes(prepared.bytes);
  json budgets = json::array();
  std::set<std::string> seen;
  for (const RunSpec& run : runs) {
    if (run.model.label() != label || (run.mode != "stream" && run.mode != "sync")) continue;
    const std::optional<uint64_t> budget_bytes = run.budget.resolve(prepared.bytes);
    if (!budget_bytes || !seen.insert(run.budget.text).second) continue;
    json entry = {{"budget", run.budget.text}, {"budget_bytes", *budget_bytes}};
    try {
      const std::vector<AlignedRead> reads = token_reads(
          planned_stream_plan(model, run, *budget_bytes, baseline_bytes), shape.read_bytes);
      uint64_t per_token = 0;
      for (const AlignedRead& r : reads) per_token += r.length;
      entry["read_bytes_per_token"] = per_token;
      if (per_token == 0) fail("the plan at budget {} streams nothing", run.budget.text);
      std::fprintf(stderr, "experiment: disk floor at %s: %d windows of %zu reads, %.0f MiB...\n",
                   run.budget.text.c_str(), windows, reads.size(), per_token / 1048576.0);
      entry.update(to_json(
          disk_floor(measure_disk_windows(prepared.path, reads, shape.queue_depth, windows))));
      const MemorySweeps sweeps = {sweep_bytes, run.threads};
      std::fprintf(stderr,
                   "experiment: disk floor at %s beside %d threads sweeping %.0f MiB a window...\n",
                   run.budget.text.c_str(), sweeps.threads, sweeps.bytes / 1048576.0);
      const SweptWindows swept = measure_disk_windows_beside_sweeps(
          prepared.path, reads, shape.queue_depth, windows, sweeps);
      json beside = to_json(disk_floor(swept.windows));
      beside.update(to_json(sweeps, swept.sweep_ms));
      entry["beside_compute"] = beside;
    } catch (const Error& e) {
      entry["skipped"] = e.what();
      std::fprintf(stderr, "experiment: no disk floor at %s: %s\n", run.budget.text.c_str(),
                   e.what());
    }
    budgets.push_back(entry);
  }
  json floor = {{"model", label},
                {"baseline_rss_bytes", baseline_bytes},
                {"read_bytes", shape.read_bytes},
                {"queue_depth", shape.queue_depth},
                {"budgets", budgets}};
  if (budgets.empty()) floor["skipped"] = "no stream or sync run of the first model has a budget";
  write_json_file(results / kDiskFloorFile, floor);
}

// A one-line progress display on stderr: done / total, ETA from the mean run time so far,
// and the configuration running now.
class ProgressLine {
 public:
  ProgressLine(bool enabled, size_t total)
      : enabled_(enabled), total_(total), start_(Clock::now()) {}
  void show(size_t done, const std::string& current) const {
    if (!enabled_) return;
    std::string eta = "?";
    if (done > 0) {
      const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
      const int left = static_cast<int>(elapsed / done * (total_ - done));
      eta = fmt::format("{}:{:02}:{:02}", left / 3600, left / 60 % 60, left % 60);
    }
    std::fprintf(stderr, "\r\033[K[%zu/%zu] ETA %s  %s", done, total_, eta.c_str(),
                 current.c_str());
    std::fflush(stderr);
  }
  void finish() const {
    if (enabled_) std::fprintf(stderr, "\r\033[K");
  }

 private:
  bool enabled_;
  size_t total_;
  Clock::time_point start_;
};

json cgroup_json(const MemoryCgroup& group, const CgroupMemoryUsage& usage) {
  json stat = json::object();
  for (const char* key : {"cache", "rss", "mapped_file", "pgmajfault", "file", "anon"})
    if (const auto it = usage.stat.find(key); it != usage.stat.end()) stat[key] = it->second;
  return {{"version", to_string(group.version())},
          {"dir", group.dir().string()},
          {"limit_bytes", group.limit_bytes() ? json(*group.limit_bytes()) : json()},
          {"peak_bytes", usage.peak_bytes ? json(*usage.peak_bytes) : json()},
          {"limit_hits", usage.limit_hits},
          {"oom_kills", usage.oom_kills},
          {"stat", stat}};
}

json io_pressure_json(const ChildResult& result) {
  if (!result.io_pressure_before || !result.io_pressure_after) return nullptr;
  const Pressure& before = *result.io_pressure_before;
  const Pressure& after = *result.io_pressure_after;
  return {{"some_us", after.some.total_us - before.some.total_us},
          {"full_us", after.full.total_us - before.full.total_us},
          {"some_avg10_before", before.some.avg10},
          {"some_avg10_after", after.some.avg10}};
}

std::string status_of(const ChildResult& result) {
  if (result.timed_out) return "timeout";
  if (result.oom_killed) return "oom";
  if (result.succeeded()) return "ok";
  return result.describe();
}

// Why the run cannot be pinned as asked, or "".
std::string unavailable_cpus(const std::vector<int>& cpus, const cpu_set_t& allowed) {
  std::vector<int> missing, have;
  for (int cpu : cpus)
    if (cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &allowed)) missing.push_back(cpu);
  if (missing.empty()) return "";
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &allowed)) have.push_back(cpu);
  return fmt::format("CPU {} not available to this process (allowed: {})", fmt::join(missing, ", "),
                     fmt::join(have, ","));
}

// The child's own profiles into its record: the cost of its per-token counters
// (phases.json), its per-op times (ops.jsonl), the trace attributed to its phases, and
// the threads' and disk's activity during its decode phase.
void read_run_profiles(const fs::path& run_dir, const ChildResult& result, bool traced,
                       json& record, json& notes) {
  const fs::path phases_file = run_dir / "phases.json";
  const json phases = fs::exists(phases_file) ? read_json_file(phases_file) : json();
  if (phases.is_object()) {
    const double generation_ns = static_cast<double>(phases.at("end_ns").get<uint64_t>() -
                                                     phases.at("prefill_ns").get<uint64_t>());
    const double counters_ns = phases.at("token_counters_ns").get<double>();
    record["harness_overhead"] = {
        {"token_counters_ms", counters_ns / 1e6},
        {"token_counters_calls", phases.at("token_counters_calls")},
        {"fraction_of_generation", generation_ns > 0 ? counters_ns / generation_ns : 0.0}};
    record["activity_decode"] = decode_activity_json(ThreadSchedSeries(result.threads), result.disk,
                                                     phases.at("decode_ns").get<uint64_t>(),
                                                     phases.at("end_ns").get<uint64_t>());
  }
  const fs::path ops = run_dir / "ops.jsonl", tokens = run_dir / "tokens.jsonl";
  if (fs::exists(ops) && fs::exists(tokens)) {
    try {
      record["op_profile"] = summarize_op_profile(ops, read_token_log(tokens));
    } catch (const Error& e) {
      notes.push_back(fmt::format("op profile unreadable: {}", e.what()));
    }
  }
  if (traced) {
    try {
      record["trace"] = summarize_trace(run_dir / "trace.txt", result.pid, phases);
    } catch (const Error& e) {
      record["trace"] = {{"skipped", fmt::format("trace unreadable: {}", e.what())}};
    }
  }
}

// Sets up the controls, runs the child, and returns its run.json record.
json execute_run(const RunSpec& run, const PreparedModel& model, const PromptText& prompt,
                 const Environment& env, const RunnerOptions& options, const fs::path& run_dir) {
  json record;
  record["run"] = to_json(run);
  const std::optional<uint64_t> budget = run.budget.resolve(model.bytes);
  record["budget_bytes"] = budget ? json(*budget) : json();
  record["prompt_tokens_actual"] = prompt.tokens;
  json notes = json::array();
  auto skip = [&](const std::string& reason) {
    record["status"] = fmt::format("skipped: {}", reason);
    record["notes"] = notes;
    return record;
  };

  if (const std::string problem = unavailable_cpus(run.cpus, env.allowed_cpus); !problem.empty())
    return skip(problem);

  std::unique_ptr<MemoryCgroup> cgroup;
  if (env.cgroup_parent) {
    try {
      cgroup = std::make_unique<MemoryCgroup>(*env.cgroup_parent,
                                              unique_cgroup_name("flashslim-run"), budget);
    } catch (const Error& e) {
      if (budget)
        return skip(fmt::format("budget {} needs a memory cgroup: {}", run.budget.text, e.what()));
      notes.push_back(fmt::format("no memory cgroup (peak from rusage only): {}", e.what()));
    }
  } else if (budget) {
    return skip(
        fmt::format("budget {} needs a memory cgroup: {}", run.budget.text, env.cgroup_problem));
  } else {
    notes.push_back("no memory cgroup (peak from rusage only): " + env.cgroup_problem);
  }

  if (run.mlock == true) {
    if (!env.run.mlock)
      notes.push_back("mlock not applied: this flashslim run has no --mlock flag");
    else if (const std::string why = env.mlock.explain(model.bytes); !why.empty())
      notes.push_back("mlock may fail (the run's stats.mlock_ok tells): " + why);
  }
  if (run.mlock == false && !env.run.no_mlock)
    notes.push_back("mlock: false not applied: this flashslim run has no --no-mlock flag");
  if (budget && !env.run.budget)
    notes.push_back("flashslim run has no --budget flag: the budget is the cgroup limit only");
  if (!env.run.token_log)
    notes.push_back("flashslim run has no --token-log flag: no per-token latencies");
  if (!env.run.stats_json)
    notes.push_back("flashslim run has no --stats-json flag: no runtime stats");
  if (run.profile_ops && !env.run.op_profile)
    notes.push_back("profile_ops not applied: this flashslim run has no --op-profile flag");

  std::unique_ptr<BackgroundLoad> load;
  if (run.background_load > 0) {
    try {
      load = std::make_unique<BackgroundLoad>(run.background_load, 0);
    } catch (const Error& e) {
      return skip(fmt::format("background load {}%: {}", run.background_load, e.what()));
    }
  }
  if (run.cold_cache) {
    try {
      storage::drop_page_cache();
    } catch (const Error& e) {
      notes.push_back(fmt::format("cold_cache not applied: {}", e.what()));
    }
  }
  record["page_cache_before_fraction"] = storage::page_cache_residency(model.path).fraction();
  std::optional<ReadAheadSetting> read_ahead;
  if (run.read_ahead_kb) {
    try {
      read_ahead.emplace(model.path, *run.read_ahead_kb);
      record["read_ahead_previous_kb"] = read_ahead->previous_kib();
    } catch (const Error& e) {
      notes.push_back(fmt::format("read_ahead_kb not set: {}", e.what()));
    }
  }

  // Started last, so it traces the run and not the harness's preparations.
  std::unique_ptr<EbpfTrace> trace;
  if (run.trace) {
    if (!env.trace_problem.empty()) {
      record["trace"] = {{"skipped", env.trace_problem}};
    } else {
      try {
        trace = std::make_unique<EbpfTrace>(run_dir / "trace.txt");
      } catch (const Error& e) {
        record["trace"] = {{"skipped", e.what()}};
      }
    }
  }

  ChildSpec spec;
  spec.argv =
      run_command(options.flashslim_binary, run, model.path, prompt, budget, env.run, run_dir);
  spec.cgroup = cgroup.get();
  spec.cpus = run.cpus;
  spec.stdout_path = run_dir / "stdout.txt";
  spec.stderr_path = run_dir / "stderr.txt";
  spec.timeout = std::chrono::milliseconds(static_cast<int64_t>(run.timeout_s * 1000));
  spec.sample_threads = true;
  // Tokens take 50 ms or more where their activity matters (streamed runs); at 20 ms the
  // harness's sampling takes ~2 % of one CPU (3 % at 10 ms).
  spec.activity_period = std::chrono::milliseconds(20);
  try {
    spec.disk_stat_file = disk_stat_file_of(model.path);
  } catch (const Error& e) {
    notes.push_back(fmt::format("no disk activity: {}", e.what()));
  }
  ChildResult result;
  try {
    result = run_child(spec);
  } catch (const Error& e) {
    record["status"] = fmt::format("error: {}", e.what());
    record["notes"] = notes;
    return record;
  }
  if (trace) trace->stop();
  if (load) {
    const ChildResult used = load->stop();
    record["background_load"] = {{"percent", run.background_load},
                                 {"cpu_s", used.user_s + used.sys_s},
                                 {"wall_s", used.wall_s}};
  } else {
    record["background_load"] = {{"percent", 0}, {"cpu_s", 0}, {"wall_s", 0}};
  }

  record["status"] = status_of(result);
  if (record["status"] != "ok") record["error"] = last_line(spec.stderr_path);
  record["wall_s"] = result.wall_s;
  record["user_s"] = result.user_s;
  record["sys_s"] = result.sys_s;
  record["sampler_cpu_s"] = result.sampler_cpu_s;
  record["max_rss_bytes"] = result.max_rss_bytes;
  uint64_t sampled_peak = 0;
  for (const RssSample& s : result.rss) sampled_peak = std::max(sampled_peak, s.rss_bytes);
  record["rss_peak_sampled_bytes"] = sampled_peak;
  record["minor_faults"] = result.minor_faults;
  record["major_faults"] = result.major_faults;
  record["read_bytes"] = result.read_bytes;
  record["rchar"] = result.rchar;
  record["inblock_bytes"] = result.inblock_bytes;
  record["cgroup"] = cgroup && result.cgroup ? cgroup_json(*cgroup, *result.cgroup) : json();
  record["io_pressure"] = io_pressure_json(result);
  write_rss_csv(run_dir / "rss.csv", result.rss);
  write_thread_csv(run_dir / "threads.csv", result.threads);
  if (!spec.disk_stat_file.empty()) write_disk_csv(run_dir / "disk.csv", result.disk);

  const fs::path stats = run_dir / "stats.json";
  record["stats"] = fs::exists(stats) ? read_json_file(stats) : json();
  const fs::path tokens = run_dir / "tokens.jsonl";
  record["latency_ms"] = nullptr;
  if (fs::exists(tokens)) {
    try {
      const std::vector<double> ms = decode_latencies_ms(read_token_log(tokens));
      if (!ms.empty()) {
        const Summary s = summarize(ms);
        record["latency_ms"] = {{"count", s.count}, {"min", s.min}, {"max", s.max},
                                {"mean", s.mean},   {"sd", s.sd},   {"cv", s.cv},
                                {"p50", s.p50},     {"p90", s.p90}, {"p99", s.p99}};
      }
    } catch (const Error& e) {
      notes.push_back(fmt::format("token log unreadable: {}", e.what()));
    }
  } else if (record["status"] == "ok" && env.run.token_log) {
    notes.push_back("flashslim run wrote no token log");
  }
  read_run_profiles(run_dir, result, trace != nullptr, record, notes);
  record["notes"] = notes;
  return record;
}

}  // namespace

RunCapabilities probe_run_capabilities(const fs::path& flashslim_binary) {
  const fs::path out =
      fs::temp_directory_path() / fmt::format("flashslim-run-help-{}.txt", ::getpid());
  ChildSpec spec;
  spec.argv = {flashslim_binary.string(), "run", "--help"};
  spec.stdout_path = out;
  spec.stderr_path = "/dev/null";
  spec.sample_period = std::chrono::milliseconds(0);
  spec.timeout = std::chrono::seconds(30);
  const ChildResult result = run_child(spec);
  const std::string help = file_text(out);
  fs::remove(out);
  if (!result.succeeded())
    fail("{} run --help failed ({}): is it a flashslim binary?", flashslim_binary.string(),
         result.describe());
  auto has = [&](const char* flag) { return help.find(flag) != std::string::npos; };
  return {has("--token-log"), has("--stats-json"), has("--budget"), has(" --mlock"),
          has("--no-mlock"),  has("--op-profile"), has("--phases")};
}

std::vector<std::string> run_command(const fs::path& flashslim_binary, const RunSpec& run,
                                     const std::string& model_path, const PromptText& prompt,
                                     std::optional<uint64_t> budget_bytes,
                                     const RunCapabilities& capabilities, const fs::path& run_dir) {
  std::vector<std::string> argv = {
      flashslim_binary.string(), "run", "-m", model_path, "-p", prompt.text, "-n",
      std::to_string(run.gen_tokens), "-t", std::to_string(run.threads), "-c",
      std::to_string(run.ctx), "--mode", run.mode,
      // A fixed number of generated tokens per run.
      "--ignore-eos", "--temp", fmt::format("{}", run.sampling.temperature), "--top-k",
      std::to_string(run.sampling.top_k), "--top-p", fmt::format("{}", run.sampling.top_p),
      "--min-p", fmt::format("{}", run.sampling.min_p), "-s", std::to_string(run.sampling.seed)};
  if (budget_bytes && capabilities.budget) {
    argv.push_back("--budget");
    argv.push_back(std::to_string(*budget_bytes));
  }
  if (run.mlock == true && capabilities.mlock) argv.push_back("--mlock");
  if (run.mlock == false && capabilities.no_mlock) argv.push_back("--no-mlock");
  if (capabilities.token_log) {
    argv.push_back("--token-log");
    argv.push_back((run_dir / "tokens.jsonl").string());
  }
  if (capabilities.stats_json) {
    argv.push_back("--stats-json");
    argv.push_back((run_dir / "stats.json").string());
  }
  if (capabilities.phases) {
    argv.push_back("--phases");
    argv.push_back((run_dir / "phases.json").string());
  }
  if (run.profile_ops && capabilities.op_profile) {
    argv.push_back("--op-profile");
    argv.push_back((run_dir / "ops.jsonl").string());
  }
  return argv;
}

ExperimentOutcome run_experiment(const ExperimentConfig& config, const RunnerOptions& options) {
  const fs::path& results = options.results_dir;
  if (fs::exists(results / "runs") && !fs::is_empty(results / "runs"))
    fail("{} already holds runs of an experiment; choose a new results directory",
         results.string());
  fs::create_directories(results / "runs");
  write_text_file(results / "experiment.json", options.config_text);

  const std::vector<RunSpec> runs = expand_runs(config);
  const bool tracing =
      std::any_of(runs.begin(), runs.end(), [](const RunSpec& r) { return r.trace; });
  const Environment env = probe_environment(options.flashslim_binary, tracing);
  if (tracing && !env.trace_problem.empty())
    std::fprintf(stderr, "experiment: no eBPF trace: %s\n", env.trace_problem.c_str());
  std::map<std::string, PreparedModel> models;  // by label
  json model_provenance = json::object();
  for (const RunSpec& run : runs) {
    const std::string label = run.model.label();
    if (models.contains(label)) continue;
    models[label] = prepare_model(run.model, options);
    model_provenance[label] = {{"path", models[label].path},
                               {"bytes", models[label].bytes},
                               {"sha256", models[label].sha256}};
  }
  json provenance = to_json(collect_provenance());
  provenance["models"] = model_provenance;
  provenance["flashslim_binary"] = fs::absolute(options.flashslim_binary).string();
  provenance["harness_environment"] = environment_json(env);
  provenance["experiment"] = config.name;
  write_json_file(results / "provenance.json", provenance);

  if (config.machine_floor) write_machine_floor(config, models, results);
  if (config.disk_floor) write_disk_floor(config, runs, models, results);

  // Prompts per (model, length), built with the model's tokenizer.
  std::map<std::pair<std::string, int>, PromptText> prompts;
  for (const RunSpec& run : runs) {
    const auto key = std::make_pair(run.model.label(), run.prompt_tokens);
    if (prompts.contains(key)) continue;
    const Model model(models[key.first].path);
    prompts[key] = prompt_of_length(*Tokenizer::from_gguf(model.file()), run.prompt_tokens);
  }

  std::ofstream csv(results / "runs.csv");
  csv << runs_csv_header() << '\n';
  ExperimentOutcome outcome;
  outcome.runs = runs.size();
  const ProgressLine progress(options.progress, runs.size());
  for (const RunSpec& run : runs) {
    progress.show(run.index, (run.warmup ? "warm-up " : "") + run.configuration_label());
    const fs::path run_dir = run_directory(results, run.index);
    fs::create_directories(run_dir);
    const json record =
        execute_run(run, models[run.model.label()], prompts[{run.model.label(), run.prompt_tokens}],
                    env, options, run_dir);
    write_json_file(run_dir / "run.json", record);
    csv << runs_csv_row(record) << '\n' << std::flush;
    if (record["status"] == "ok") ++outcome.runs_ok;
  }
  progress.finish();
  if (!csv) fail("cannot write {}", (results / "runs.csv").string());

  outcome.summary = summarize_experiment(results, config.name);
  write_json_file(results / "summary.json", outcome.summary);
  return outcome;
}

}  // namespace flashslim::bench
