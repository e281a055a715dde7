#pragma once
// plan.json: what `flashslim plan` decides for one model, budget and machine,
// and what it predicts (docs/plan-format.md). The model identity and budget
// let `run --plan` refuse a plan made for something else before loading.
// Sizes in bytes, times in ms.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/model.h"
#include "planner/model_identity.h"
#include "planner/profile.h"
#include "planner/simulator.h"
#include "runtime/stream_plan.h"
#include "runtime/weight_modes.h"

namespace flashslim::planner {

inline constexpr int64_t kPlanFormatVersion = 1;

// Everything the process holds at its peak, by category.
struct MemoryUse {
  uint64_t resident_weights = 0;  // kept matrix rows and all vectors, laid out for aligned reads
  uint64_t slots = 0;             // n_slots x slot_bytes
  uint64_t forward = 0;           // KV cache, activations, scratch (Forward::memory_bytes)
  uint64_t scratch = 0;           // logits and sampler buffers
  uint64_t overhead = 0;          // process baseline (code, tokenizer, index) + margin
  uint64_t total() const { return resident_weights + slots + forward + scratch + overhead; }
};

// What the forward pass needs besides weights: the options its memory and
// speed depend on. `run --plan` uses them (and refuses larger n_ctx/n_batch).
struct RunShape {
  int32_t threads = 0;
  int32_t n_ctx = 0;
  int32_t n_batch = 0;
  std::string kv_type = "f16";
};

// One phase's Chunk Metadata Table and timeline: the ordered chunks with
// their predicted read, compute and stall times, and the phase's speed.
struct PhasePlan {
  std::string phase;  // "decode" or "prefill"
  int32_t batch = 1;  // tokens per pass
  std::vector<Chunk> chunks;
  SimulationResult timeline;
  double tokens_per_s() const {
    return timeline.pass_ms > 0 ? batch * 1000.0 / timeline.pass_ms : 0;
  }
};

struct ResidentRows {
  TensorRows rows;  // rows [0, rows_kept) of the tensor
  int64_t rows_total = 0;
};

struct Plan {
  ModelIdentity model;
  uint64_t budget_bytes = 0;
  RunShape shape;
  ResidencyPolicy policy = ResidencyPolicy::Balanced;
  std::string residency_reason;  // policy, what it kept and why
  std::vector<ResidentRows> resident;
  MemoryUse memory;
  std::vector<std::string> step_names;  // schedule order
  int32_t n_slots = 0;
  uint64_t slot_bytes = 0;
  int32_t window = 0;
  BandwidthPoint read;  // the read size / depth the I/O times assume
  PhasePlan decode;
  std::vector<PhasePlan> prefill;  // per profiled batch size
  uint64_t streamed_bytes_per_token = 0;
  double bound_tokens_per_s = 0;  // min(1 / compute, read GB/s / streamed bytes)
  std::string profile_source;     // profile file, or "quick calibration"

  uint64_t budget_left() const { return budget_bytes - memory.total(); }
};

nlohmann::json to_json(const Plan& plan);
// `file` names the source in errors. Checks every key, chunk ranges and slots.
Plan plan_from_json(const nlohmann::json& value, const std::string& file);
void save_plan(const Plan& plan, const std::string& path);
Plan load_plan(const std::string& path);

// Error naming what differs unless `plan` was made for this model file, this
// budget and a run at least as large as `run` (n_ctx, n_batch; same KV type):
// "plan.json was made for another model: file size ...".
void check_plan_matches(const Plan& plan, const std::string& plan_path, const ModelIdentity& model,
                        uint64_t budget_bytes, const RunShape& run);

// What the runtime executes: resident rows, decode chunks, slots, window.
StreamPlan to_stream_plan(const Plan& plan);
// The same with the read size and queue depth the plan's predictions assume.
PlannedStream to_planned_stream(const Plan& plan);

}  // namespace flashslim::planner
