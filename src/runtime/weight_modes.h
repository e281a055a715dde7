#pragma once
// How a run gets its weights: the --mode, --budget, --policy and --mlock
// options, resolved against the model and the memory everything else needs.
// Every mode gives the forward pass the same bytes, so logits are bitwise
// identical across modes.
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/size.h"
#include "model/model.h"
#include "runtime/memory_budget.h"
#include "runtime/stream_plan.h"
#include "runtime/weight_stats.h"
#include "storage/storage.h"

namespace flashslim {

enum class WeightMode {
  Auto,      // resident when the whole file and everything else fit the budget, else stream
  Resident,  // whole file read into memory at load
  Mmap,      // MAP_SHARED mapping, OS page faults (llama.cpp's default)
  Sync,      // resident rows + each chunk pread right before its step (no overlap)
  Stream,    // resident rows + chunks read ahead by an io_uring O_DIRECT prefetcher
};
const char* weight_mode_name(WeightMode mode);
WeightMode parse_weight_mode(std::string_view name);  // Error lists the accepted names

// A plan made before the run (`flashslim plan`, executed by `run --plan`)
// and the reads its predictions assume.
struct PlannedStream {
  StreamPlan plan;
  unsigned queue_depth = 0;     // reads in flight
  uint64_t max_read_bytes = 0;  // larger reads are split (power of two, >= kStreamReadAlignment)
  // MemoryBreakdown::process the plan assumed (its profile's baseline +
  // kProcessMarginBytes); the run's own may exceed it by kBaselineToleranceBytes.
  uint64_t process_bytes = 0;
};

// What the user asked for (shared by every command that evaluates a model).
struct WeightOptions {
  WeightMode mode = WeightMode::Auto;
  std::optional<SizeSpec> budget;  // none: no limit
  ResidencyPolicy policy = ResidencyPolicy::Balanced;
  std::optional<bool> mlock;  // default: lock resident rows in sync/stream, not in resident
  // Executed instead of the automatic planner's plan (mode auto means stream;
  // the policy is the plan's).
  std::optional<PlannedStream> planned;
};

// The storage and the WeightAccess over it; the access refers to the storage.
struct OpenedWeights {
  WeightMode mode = WeightMode::Resident;  // never Auto
  std::optional<uint64_t> budget_bytes;
  MemoryBreakdown memory;          // the accounting the budget was checked against
  std::optional<StreamPlan> plan;  // sync and stream
  std::unique_ptr<storage::Storage> storage;
  std::unique_ptr<RuntimeWeights> access;
};

// The automatic planner's plan for sync and stream mode at `budget` bytes, for a run
// whose everything-but-the-weights is `fixed` (see fixed_memory): plan_streaming over
// what the budget leaves. Below the least a plan needs: Error "--budget N bytes (..):
// below the minimum of M bytes (..) for streamed weights (sync or stream mode): process
// .. + forward .. + scratch .. + weights ..".
StreamPlan plan_streaming_within_budget(const Model& model, uint64_t budget,
                                        const MemoryBreakdown& fixed, ResidencyPolicy policy);

// Resolves the mode (auto), checks the budget against `fixed` (everything but
// the weights; see fixed_memory) plus what the mode's weights need, and opens
// the weights. Below the minimum: Error "--budget ...: below the minimum of N
// bytes ..." before any weight is read. With a planned stream, sync or stream
// mode only, and Error "... plan needs N bytes ..." if it does not fit.
OpenedWeights open_weights(const Model& model, const WeightOptions& options,
                           const MemoryBreakdown& fixed);

// Resident or mmap, no budget (tests, tools).
OpenedWeights open_weights(const Model& model, WeightMode mode);

}  // namespace flashslim
