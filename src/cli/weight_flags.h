#pragma once
// The weight options every command that evaluates a model takes: --mode,
// --budget, --policy, --mlock / --no-mlock, --plan. Register them on a
// subcommand, then turn the parsed flags into WeightOptions.
#include <CLI/CLI.hpp>
#include <string>

#include "model/model.h"
#include "planner/plan.h"
#include "runtime/weight_modes.h"

namespace flashslim::cli {

struct WeightFlags {
  std::string mode = "auto";
  std::string budget;  // empty: none
  std::string policy = "balanced";
  bool mlock = false;
  bool no_mlock = false;
  std::string plan;  // plan.json from `flashslim plan`; empty: the runtime plans
};

void add_weight_flags(CLI::App& cmd, WeightFlags& flags);
// Error names the flag and value on bad input.
WeightOptions to_weight_options(const WeightFlags& flags);
// With --plan: loads plan.json (schema check) and refuses it unless it was
// made for this model file, the budget (--budget, or the plan's own when
// none is given) and a run shaped like `run`; then sets options.planned and
// options.budget. Reads only the model's header: call before any weight loads.
void apply_weight_plan(const WeightFlags& flags, const Model& model, const planner::RunShape& run,
                       WeightOptions& options);

}  // namespace flashslim::cli
