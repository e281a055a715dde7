#pragma once
// `flashslim plan --explain`: a plan in words. Where a token's time goes,
// which resource binds (disk, compute, memory bandwidth), what the budget
// buys, and what +10/+25/+50% budget would buy (by planning again).
#include <string>

#include "model/model.h"
#include "planner/plan.h"
#include "planner/planner.h"
#include "planner/profile.h"

namespace flashslim::planner {

// The resource that limits decode speed under `plan`.
enum class BindingResource { Disk, Compute, MemoryBandwidth };
const char* binding_resource_name(BindingResource r);
BindingResource binding_resource(const Plan& plan, const Profile& profile);

std::string explain_plan(const Plan& plan, const Model& model, const Profile& profile,
                         const PlanRequest& request);

}  // namespace flashslim::planner
