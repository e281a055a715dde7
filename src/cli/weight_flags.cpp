#include "cli/weight_flags.h"

#include "core/error.h"

namespace flashslim::cli {

void add_weight_flags(CLI::App& cmd, WeightFlags& flags) {
  cmd.add_option("--mode", flags.mode,
                 "How weights reach memory: auto (resident if it fits --budget, else stream), "
                 "resident, mmap (OS page faults), sync (pread each chunk before use), stream "
                 "(io_uring O_DIRECT prefetch)");
  cmd.add_option("--budget", flags.budget,
                 "Memory the whole process may use: bytes with K/M/G suffix, or a percentage of "
                 "the model file (e.g. 160M, 25%)");
  auto* policy = cmd.add_option(
      "--policy", flags.policy,
      "Resident weights under a budget: balanced (same share of every layer), flexible "
      "(FFN first at high budgets, attention first at low), layers (whole layers)");
  auto* lock = cmd.add_flag("--mlock", flags.mlock,
                            "Lock resident weights in memory (default in sync/stream mode)");
  cmd.add_flag("--no-mlock", flags.no_mlock, "Do not lock resident weights")->excludes(lock);
  cmd.add_option("--plan", flags.plan,
                 "Execute plan.json from `flashslim plan` (residency, chunks, slots, reads) in "
                 "stream or sync mode; refused if made for another model, budget, -c, -b or "
                 "--kv-type")
      ->excludes(policy);
}

WeightOptions to_weight_options(const WeightFlags& flags) {
  WeightOptions o;
  o.mode = parse_weight_mode(flags.mode);
  if (!flags.budget.empty()) {
    try {
      o.budget = parse_size_spec(flags.budget);
    } catch (const Error& e) {
      fail("--budget {}", e.what());
    }
  }
  o.policy = parse_residency_policy(flags.policy);
  if (flags.mlock) o.mlock = true;
  if (flags.no_mlock) o.mlock = false;
  return o;
}

void apply_weight_plan(const WeightFlags& flags, const Model& model, const planner::RunShape& run,
                       WeightOptions& options) {
  if (flags.plan.empty()) return;
  const planner::Plan plan = planner::load_plan(flags.plan);
  const uint64_t budget =
      options.budget ? options.budget->resolve(model.file().file_size) : plan.budget_bytes;
  planner::check_plan_matches(plan, flags.plan, planner::identify_model(model.file()), budget, run);
  options.budget = SizeSpec{.is_percent = false, .bytes = budget};
  options.policy = plan.policy;
  options.planned = planner::to_planned_stream(plan);
}

}  // namespace flashslim::cli
