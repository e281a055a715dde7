#pragma once
// The pre-runtime planner: from a model and its profile, for a budget and a
// residency policy, chooses the resident rows, the chunks (seed 000's greedy
// partitioner), the slot count and size and the window, and predicts speed
// and peak memory by simulating the pipeline. Candidates (slot counts, and
// for the flexible policy which class to keep first) are compared by their
// simulated decode speed; every candidate fits the budget.
#include <cstdint>
#include <optional>

#include "model/model.h"
#include "planner/plan.h"
#include "planner/profile.h"
#include "planner/residency.h"
#include "runtime/memory_budget.h"
#include "runtime/stream_plan.h"

namespace flashslim::planner {

struct PlanRequest {
  uint64_t budget_bytes = 0;
  ResidencyPolicy policy = ResidencyPolicy::Balanced;
  // Flexible only: keep this class first. Unset: both orders are simulated
  // and the runtime's automatic plan competes; set: only this order (to
  // compare the orders, as FlexInfer does).
  std::optional<FlexibleOrder> flexible_order;
  int32_t n_ctx = 0;  // 0: the model's, at most 4096 (as `run`)
  int32_t n_batch = 512;
  std::string kv_type = "f16";
  std::string profile_source;
};

// Error if the profile was made for another model, or its steps differ.
void check_profile_matches(const Profile& profile, const Model& model);

// The smallest budget any plan for this model and request can run in.
uint64_t minimum_budget(const Model& model, const Profile& profile, const PlanRequest& request);

// Error (naming the minimum) if the budget is below minimum_budget().
Plan make_plan(const Model& model, const Profile& profile, const PlanRequest& request);

// Predictions for a StreamPlan made elsewhere (e.g. the runtime's automatic
// planner), so both can be compared on the same profile.
Plan evaluate_stream_plan(const Model& model, const Profile& profile, const StreamPlan& stream,
                          const PlanRequest& request);

}  // namespace flashslim::planner
