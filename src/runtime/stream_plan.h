#pragma once
// What the streaming runtime executes: which weight rows stay resident, how the
// rest is cut into chunks read ahead in execution order, and the slot pool the
// chunks are read into. Made by the runtime's automatic planner or by
// `flashslim plan` (src/planner), and executed by the same runtime code.
// Sizes in bytes; offsets are absolute in the model file.
//
// Execution rules (what the runtime assumes and validate_stream_plan checks):
// - every row of every tensor the schedule reads is in exactly one place: a
//   resident TensorRows or a part of a chunk covering the tensor's step;
//   a tensor ends up in at most WeightView::kMaxParts pieces;
// - chunks are in execution order (ids 0.., first_step non-decreasing) and a
//   chunk is held in memory from acquire(first_step) to release(last_step);
// - slots are a ring: the k-th chunk loaded in the run (counting across
//   tokens, the sequence being cyclic) goes to slot k % n_slots, so chunk id
//   i is in slot i % n_slots in the first pass (Chunk::slot says so);
// - a slot holds a chunk's parts read with O_DIRECT: each part widened to
//   kStreamReadAlignment at both ends (chunk_read_bytes), so slot_bytes >=
//   chunk_read_bytes of every chunk;
// - at most `window` chunks are read ahead of the newest one the compute asked
//   for; the slot ring limits it further.
#include <cstdint>
#include <string>
#include <vector>

namespace flashslim {

class Model;

// O_DIRECT granularity: read offsets, lengths and slot buffers are multiples of it.
inline constexpr uint64_t kStreamReadAlignment = 4096;

enum class ResidencyPolicy {
  Balanced,  // the same share of every layer's tensors resident (FlexInfer)
  Flexible,  // FFN tensors first at high budgets, attention first at low ones
  Layers,    // whole layers from the front (the unbalanced baseline)
};
const char* residency_policy_name(ResidencyPolicy p);
ResidencyPolicy parse_residency_policy(const std::string& name);  // Error lists the names

// Rows [row_begin, row_end) of one tensor: a contiguous byte range of the file.
struct TensorRows {
  std::string tensor;  // GGUF tensor name
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
  int32_t slot = 0;               // slot it is read into in the first pass: id % n_slots
};

struct StreamPlan {
  uint64_t budget_bytes = 0;
  ResidencyPolicy policy = ResidencyPolicy::Balanced;
  std::vector<TensorRows> resident;  // kept in memory (mlocked) for the whole run
  std::vector<Chunk> chunks;         // decode order; prefill uses the same order per batch
  int32_t n_slots = 0;
  uint64_t slot_bytes = 0;  // capacity of each slot (>= its largest chunk, aligned)
  int32_t window = 0;       // chunks issued ahead of the one in use
};

// Bytes a slot needs to hold `parts` read with O_DIRECT (parts widened to
// kStreamReadAlignment; parts whose widened ranges touch share one read).
uint64_t chunk_read_bytes(const std::vector<TensorRows>& parts);

// Memory the plan's weights take: the resident rows laid out for aligned
// reads, plus n_slots * slot_bytes.
uint64_t plan_memory_bytes(const StreamPlan& plan);

// Throws Error naming the first rule above the plan breaks for `model`
// (tensor, rows, chunk id), e.g. "stream plan: blk.3.attn_q.weight rows
// 0..2048 covered twice".
void validate_stream_plan(const StreamPlan& plan, const Model& model);

}  // namespace flashslim
