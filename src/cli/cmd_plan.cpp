// flashslim plan: the pre-runtime stage. From a profile (or a quick
// calibration), choose resident rows, chunks, slots and window for a budget,
// predict speed and memory, and write plan.json for `run --plan`.
#include <cstdio>

#include "cli/commands.h"
#include "core/error.h"
#include "core/size.h"
#include "model/model.h"
#include "planner/explain.h"
#include "planner/planner.h"
#include "planner/profiler.h"

namespace flashslim::cli {

namespace {

struct PlanFlags {
  std::string model_path;
  std::string budget;
  std::string profile_path;
  std::string policy = "balanced";
  std::string flexible_order;  // "" = both, compared by simulation
  int32_t threads = 0;
  int32_t n_ctx = 0;
  int32_t n_batch = 512;
  std::string kv_type = "f16";
  std::string out_path;
  bool explain = false;
};

void plan(const PlanFlags& f) {
  if (f.out_path.empty() && !f.explain) fail("plan: give -o plan.json, --explain, or both");
  const Model model(f.model_path);
  planner::PlanRequest request;
  request.budget_bytes = parse_size(f.budget, model.file().file_size);
  request.policy = parse_residency_policy(f.policy);
  if (!f.flexible_order.empty()) {
    if (request.policy != ResidencyPolicy::Flexible)
      fail("--flexible-order {}: only with --policy flexible", f.flexible_order);
    request.flexible_order = planner::parse_flexible_order(f.flexible_order);
  }
  request.n_ctx = f.n_ctx;
  request.n_batch = f.n_batch;
  request.kv_type = f.kv_type;
  if (request.n_ctx > model.hparams().n_ctx_train)
    fail("-c {}: the model allows at most {} tokens of context", request.n_ctx,
         model.hparams().n_ctx_train);

  planner::Profile profile;
  if (!f.profile_path.empty()) {
    profile = planner::load_profile(f.profile_path);
    request.profile_source = f.profile_path;
  } else {
    std::fprintf(
        stderr,
        "plan: no --profile given, calibrating quickly (use `flashslim profile` for a full one)\n");
    profile = planner::profile_model(
        model, planner::ProfileOptions::quick_calibration(f.threads, request.budget_bytes));
    request.profile_source = "quick calibration";
  }
  const planner::Plan p = planner::make_plan(model, profile, request);
  if (!f.out_path.empty()) {
    planner::save_plan(p, f.out_path);
    std::fprintf(stderr,
                 "plan: %.2f decode tokens/s predicted, peak %.1f MiB of %.1f MiB; wrote %s\n",
                 p.decode.tokens_per_s(), p.memory.total() / 1048576.0, p.budget_bytes / 1048576.0,
                 f.out_path.c_str());
  }
  if (f.explain) {
    const std::string text = planner::explain_plan(p, model, profile, request);
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
}

}  // namespace

void register_plan_command(CLI::App& app) {
  auto flags = std::make_shared<PlanFlags>();
  CLI::App* cmd = app.add_subcommand(
      "plan",
      "Plan weight streaming for a memory budget: residency, chunks, slots, predicted speed");
  cmd->add_option("-m,--model", flags->model_path, "GGUF model file")->required();
  cmd->add_option("--budget", flags->budget,
                  "Memory budget: bytes with K/M/G suffix, or % of the model file")
      ->required();
  cmd->add_option("--profile", flags->profile_path,
                  "profile.json from `flashslim profile` (default: calibrate quickly)");
  cmd->add_option("--policy", flags->policy, "Residency policy: balanced, flexible or layers");
  cmd->add_option("--flexible-order", flags->flexible_order,
                  "With --policy flexible: keep attention-first or ffn-first (default: both "
                  "simulated, the faster kept)");
  cmd->add_option("-t,--threads", flags->threads,
                  "Compute threads for the quick calibration (default: all cores)")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("-c,--ctx-size", flags->n_ctx,
                  "Context the run will use (default: model's, at most 4096)")
      ->check(CLI::Range(1, 1 << 24));
  cmd->add_option("-b,--batch-size", flags->n_batch, "Most prompt tokens per pass the run will use")
      ->check(CLI::Range(1, 1 << 16));
  cmd->add_option("--kv-type", flags->kv_type, "KV cache element type: f16 or f32")
      ->check(CLI::IsMember({"f16", "f32"}));
  cmd->add_option("-o,--output", flags->out_path, "plan.json to write");
  cmd->add_flag("--explain", flags->explain,
                "Print where the time goes, what binds, what more budget buys");
  cmd->callback([flags] { plan(*flags); });
}

}  // namespace flashslim::cli
