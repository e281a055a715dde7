// flashslim profile: measure per-step compute, read bandwidth and memory
// bandwidth for one model on this machine, for `flashslim plan`.
#include <cstdio>

#include "cli/commands.h"
#include "core/size.h"
#include "model/model.h"
#include "planner/profiler.h"
#include "runtime/streaming_weights.h"

namespace flashslim::cli {

namespace {

struct ProfileFlags {
  std::string model_path;
  std::string budget;
  int32_t threads = 0;
  std::string out_path;
  bool quick = false;
  std::string sustained_read_bytes;
};

// "2.21 2.05 2.30"
std::string sample_list(const std::vector<double>& gb_per_s) {
  std::string out;
  for (double g : gb_per_s) out += fmt::format("{}{:.2f}", out.empty() ? "" : " ", g);
  return out;
}

void profile(const ProfileFlags& f) {
  const Model model(f.model_path);
  std::optional<uint64_t> budget;
  if (!f.budget.empty()) budget = parse_size(f.budget, model.file().file_size);
  planner::ProfileOptions options;
  if (f.quick) options = planner::ProfileOptions::quick_calibration(f.threads, budget);
  options.threads = f.threads;
  options.budget_bytes = budget;
  if (!f.sustained_read_bytes.empty())
    options.sustained_read_bytes = parse_size(f.sustained_read_bytes, std::nullopt);
  const planner::Profile p = planner::profile_model(model, options);
  planner::save_profile(p, f.out_path);
  // Rated at the reads `run --mode stream` makes.
  const StreamingOptions reads;
  const planner::BandwidthPoint curve_read = p.read_at(reads.max_read_bytes, reads.queue_depth);
  const planner::SustainedRead& sustained = p.storage.sustained_read;
  std::fprintf(stderr,
               "profile: decode %.2f ms/token compute (%s, %d threads), %.2f while streaming; "
               "reads of %llu KiB x qd %u (%s): curve %.2f GB/s, sustained %.2f (slowest of %s, "
               "planned with), the prefetcher alone %.2f; memory %.1f GB/s\nprofile: wrote %s\n",
               p.decode.total_ms(), p.compute_method.c_str(), p.threads,
               p.decode_streaming.total_ms(),
               static_cast<unsigned long long>(curve_read.read_bytes >> 10), curve_read.queue_depth,
               p.storage.backend.c_str(), curve_read.gb_per_s, sustained.gb_per_s(),
               sample_list(sustained.samples_gb_per_s).c_str(), p.storage.streaming_read.gb_per_s,
               p.memory_gb_per_s, f.out_path.c_str());
}

}  // namespace

void register_profile_command(CLI::App& app) {
  auto flags = std::make_shared<ProfileFlags>();
  CLI::App* cmd = app.add_subcommand(
      "profile", "Measure per-step compute time, read and memory bandwidth for the planner");
  cmd->add_option("-m,--model", flags->model_path, "GGUF model file")->required();
  cmd->add_option("--budget", flags->budget,
                  "Memory budget (bytes, K/M/G, or % of the file): weights are timed resident "
                  "only if the model fits it, else through mmap after a warm-up");
  cmd->add_option("-t,--threads", flags->threads, "Compute threads (default: all cores)")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("-o,--output", flags->out_path, "profile.json to write")->required();
  cmd->add_option("--sustained-read-bytes", flags->sustained_read_bytes,
                  "Bytes per sample of the runtime's reads sustained (K/M/G; default 512M, "
                  "--quick 64M), three samples spread through the profile");
  cmd->add_flag("--quick", flags->quick, "Short calibration (what `plan` does without --profile)");
  cmd->callback([flags] { profile(*flags); });
}

}  // namespace flashslim::cli
