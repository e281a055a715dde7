#pragma once
// Seed 000's greedy partitioner: cuts the streamed rows of the schedule into
// chunks of consecutive steps so that, wherever possible, the next chunk's
// read fits under the current chunk's compute (T_io(c_{i+1}) <= T_compute(c_i)),
// and no chunk needs more than one slot of `slot_bytes`.
#include <cstdint>
#include <functional>
#include <vector>

#include "planner/residency.h"
#include "runtime/stream_plan.h"

namespace flashslim::planner {

// What each schedule step streams under a residency: the rows not kept, one
// part per matrix, in file order.
std::vector<std::vector<TensorRows>> streamed_parts(const Model& model,
                                                    const std::vector<Matrix>& matrices,
                                                    const Residency& residency);

struct PartitionInput {
  const std::vector<std::vector<TensorRows>>* parts = nullptr;  // per step
  const std::vector<double>* compute_ms = nullptr;              // per step
  std::function<double(uint64_t read_bytes)> io_ms;             // predicted read time
  uint64_t slot_bytes = 0;  // >= the largest single step's chunk_read_bytes
};

// Chunks in decode order, ids 0.., slot id % n_slots (the runtime's slot ring).
// Steps that stream nothing belong to no chunk (they run between chunks).
std::vector<Chunk> partition(const PartitionInput& input, int32_t n_slots);

// The smallest slot that holds any single step's streamed rows.
uint64_t min_slot_bytes(const std::vector<std::vector<TensorRows>>& parts);

}  // namespace flashslim::planner
