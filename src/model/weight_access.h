#pragma once
// The one way the forward pass reaches weights. Before a step it calls
// acquire(step), which returns the step's tensors in memory; after the step it
// calls release(step). Steps are acquired in schedule order, cyclically. This is
// the event hook the streaming runtime lives on: an implementation may hand
// out resident memory, mmap'ed file pages, or a chunk slot it filled ahead.
// Not thread-safe: one forward pass drives one WeightAccess.
#include <array>
#include <cstdint>
#include <span>

#include "gguf/gguf.h"
#include "model/schedule.h"

namespace flashslim {

// Rows [begin, end) of a tensor, contiguous in memory (row-major, each row
// gguf::TensorInfo::row_bytes() bytes) starting at `data`.
struct RowRange {
  int64_t begin = 0;
  int64_t end = 0;
  const uint8_t* data = nullptr;
};

// One tensor of a step: its rows, possibly in parts (e.g. resident rows and
// streamed rows), together covering all rows exactly once, in row order.
struct WeightView {
  static constexpr int kMaxParts = 4;
  const gguf::TensorInfo* info = nullptr;
  std::array<RowRange, kMaxParts> parts{};
  int n_parts = 0;
};

struct StepWeights {
  std::array<WeightView, slot::kCount> tensors{};  // by slot; info null if the slot is empty
  const WeightView& operator[](int slot_index) const { return tensors[slot_index]; }
};

class WeightAccess {
 public:
  virtual ~WeightAccess() = default;
  // Starts one forward pass over `n_tokens` tokens (1 in decode).
  virtual void begin_pass(int32_t n_tokens) = 0;
  // Blocks until the step's weights are in memory. Views stay valid until
  // release(step_index). REQUIRES: steps in schedule order.
  virtual StepWeights acquire(int32_t step_index) = 0;
  virtual void release(int32_t step_index) = 0;
  // Embedding gather: row `ids[i]` of `table`, converted to float, into
  // out[i * cols .. (i+1) * cols). Reads only those rows.
  virtual void gather_rows(const gguf::TensorInfo& table, std::span<const int32_t> ids,
                           float* out) = 0;
  // Ends the pass (after the last step's release).
  virtual void end_pass() = 0;
};

}  // namespace flashslim
