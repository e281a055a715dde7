#include "runtime/weight_modes.h"

#include <algorithm>

#include "core/error.h"
#include "runtime/auto_planner.h"
#include "runtime/mapped_weights.h"
#include "runtime/streaming_weights.h"

namespace flashslim {

const char* weight_mode_name(WeightMode mode) {
  switch (mode) {
    case WeightMode::Auto:
      return "auto";
    case WeightMode::Resident:
      return "resident";
    case WeightMode::Mmap:
      return "mmap";
    case WeightMode::Sync:
      return "sync";
    case WeightMode::Stream:
      return "stream";
  }
  return "?";
}

WeightMode parse_weight_mode(std::string_view name) {
  for (WeightMode m : {WeightMode::Auto, WeightMode::Resident, WeightMode::Mmap, WeightMode::Sync,
                       WeightMode::Stream})
    if (name == weight_mode_name(m)) return m;
  fail("--mode '{}': expected auto, resident, mmap, sync or stream", name);
}

namespace {

void refuse_below(uint64_t budget, uint64_t minimum, const MemoryBreakdown& need,
                  const char* what) {
  if (budget >= minimum) return;
  fail("--budget {} bytes ({}): below the minimum of {} bytes ({}) for {}: {}", budget,
       format_bytes(budget), minimum, format_bytes(minimum), what, need.describe());
}

// A plan fits this run if its memory with the run's process baseline does,
// less the part of that baseline above the plan's that kBaselineToleranceBytes
// allows: a plan keeps the residency the automatic plan keeps at its budget,
// and a baseline a little higher than the profile's must not refuse it.
void refuse_plan_above(uint64_t budget, const MemoryBreakdown& need, uint64_t planned_process) {
  const uint64_t above = need.process > planned_process ? need.process - planned_process : 0;
  if (need.total() - std::min(above, kBaselineToleranceBytes) <= budget) return;
  fail(
      "--budget {} bytes ({}): the plan needs {} bytes ({}) in this run, whose process is {} "
      "where the plan assumed {} ({} more tolerated): {}",
      budget, format_bytes(budget), need.total(), format_bytes(need.total()),
      format_bytes(need.process), format_bytes(planned_process),
      format_bytes(kBaselineToleranceBytes), need.describe());
}

}  // namespace

StreamPlan plan_streaming_within_budget(const Model& model, uint64_t budget,
                                        const MemoryBreakdown& fixed, ResidencyPolicy policy) {
  MemoryBreakdown need = fixed;
  need.weights = min_streaming_bytes(model, policy);
  refuse_below(budget, need.total(), need, "streamed weights (sync or stream mode)");
  return plan_streaming(model, budget - fixed.fixed(), policy);
}

OpenedWeights open_weights(const Model& model, const WeightOptions& options,
                           const MemoryBreakdown& fixed) {
  OpenedWeights w;
  w.memory = fixed;
  const uint64_t file_bytes = model.file().file_size;
  if (options.budget) w.budget_bytes = options.budget->resolve(file_bytes);
  const std::optional<uint64_t> budget = w.budget_bytes;
  w.mode = options.mode;
  if (options.planned && w.mode == WeightMode::Auto) w.mode = WeightMode::Stream;
  if (options.planned && w.mode != WeightMode::Sync && w.mode != WeightMode::Stream)
    fail("--mode {}: a plan runs in sync or stream mode", weight_mode_name(w.mode));
  if (w.mode == WeightMode::Auto)
    w.mode = !budget || fixed.fixed() + file_bytes <= *budget ? WeightMode::Resident
                                                              : WeightMode::Stream;
  const std::string& path = model.file().path;
  switch (w.mode) {
    case WeightMode::Auto:
    case WeightMode::Resident: {
      w.memory.weights = file_bytes;
      if (budget) refuse_below(*budget, w.memory.total(), w.memory, "resident mode");
      w.storage = storage::open_storage(path, storage::StorageKind::WholeFile);
      w.access = std::make_unique<MappedWeights>(model, *w.storage, MappedWeights::Kind::Loaded,
                                                 options.mlock.value_or(false));
      break;
    }
    case WeightMode::Mmap: {
      // The page cache holds the weights; the kernel, not the budget, decides.
      if (budget) refuse_below(*budget, fixed.fixed(), w.memory, "mmap mode");
      w.storage = storage::open_storage(path, storage::StorageKind::Mmap);
      w.access =
          std::make_unique<MappedWeights>(model, *w.storage, MappedWeights::Kind::Mapped, false);
      break;
    }
    case WeightMode::Sync:
    case WeightMode::Stream: {
      StreamPlan plan;
      StreamingOptions so;
      if (options.planned) {
        plan = options.planned->plan;
        so.queue_depth = options.planned->queue_depth;
        so.max_read_bytes = options.planned->max_read_bytes;
        w.memory.weights = plan_memory_bytes(plan);
        if (budget) refuse_plan_above(*budget, w.memory, options.planned->process_bytes);
      } else {
        plan = budget ? plan_streaming_within_budget(model, *budget, fixed, options.policy)
                      : plan_streaming(model, UINT64_MAX, options.policy);
        plan.budget_bytes = budget.value_or(0);
        w.memory.weights = plan_memory_bytes(plan);
      }
      w.storage = storage::open_storage(path, storage::StorageKind::UringDirect);
      so.prefetch = w.mode == WeightMode::Stream;
      so.mlock = options.mlock.value_or(true);
      w.access = std::make_unique<StreamingWeights>(model, *w.storage, plan, so);
      w.plan = std::move(plan);
      break;
    }
  }
  return w;
}

OpenedWeights open_weights(const Model& model, WeightMode mode) {
  if (mode != WeightMode::Resident && mode != WeightMode::Mmap)
    fail("internal: open_weights without options supports resident and mmap, not {}",
         weight_mode_name(mode));
  WeightOptions options;
  options.mode = mode;
  return open_weights(model, options, MemoryBreakdown{});
}

}  // namespace flashslim
