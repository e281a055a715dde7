#pragma once
// What the streaming runtime executes: which weight rows stay resident, how the
// rest is cut into chunks read ahead in execution order, and the slot pool the
// chunks are read into. Made by the runtime's automatic planner or by
// `flashslim plan` (src/planner), and executed by the same runtime code.
// Sizes in bytes; offsets are absolute in the model file.
#include <cstdint>
#include <string>
#include <vector>

namespace flashslim {

enum class ResidencyPolicy {
  Balanced,   // the same share of every layer's tensors resident (FlexInfer)
  Flexible,   // FFN tensors first at high budgets, attention first at low ones
  Layers,     // whole layers from the front (the unbalanced baseline)
};
const char* residency_policy_name(ResidencyPolicy p);
ResidencyPolicy parse_residency_policy(const std::string& name);  // Error lists the names

// Rows [row_begin, row_end) of one tensor: a contiguous byte range of the file.
struct TensorRows {
  std::string tensor;   // GGUF tensor name
  int64_t row_begin = 0;
  int64_t row_end = 0;
  uint64_t file_offset = 0;
  uint64_t bytes = 0;
};

// The unit the prefetcher reads: the streamed rows of one or more consecutive
// schedule steps, read into one slot.
struct Chunk {
  int32_t id = 0;
  int32_t first_step = 0;  // schedule step indices covered, inclusive
  int32_t last_step = 0;
  std::vector<TensorRows> parts;  // in file order
  uint64_t bytes = 0;             // sum of parts
  int32_t slot = 0;               // slot index it is read into
};

struct StreamPlan {
  uint64_t budget_bytes = 0;
  ResidencyPolicy policy = ResidencyPolicy::Balanced;
  std::vector<TensorRows> resident;  // kept in memory (mlocked) for the whole run
  std::vector<Chunk> chunks;         // decode order; prefill uses the same order per batch
  int32_t n_slots = 0;
  uint64_t slot_bytes = 0;           // capacity of each slot (>= its largest chunk, aligned)
  int32_t window = 0;                // chunks issued ahead of the one in use
};

}  // namespace flashslim
