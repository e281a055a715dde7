#pragma once
// Which weight rows stay resident, by policy (FlexInfer's balanced locking and
// flexible preservation, and whole layers as the unbalanced baseline), for a
// number of bytes the budget leaves for them. Vectors (norms, biases) are
// always resident: they are tiny and every step needs them. The token
// embedding table is gathered by row, never streamed, so it is neither.
// A tensor keeps a prefix of its rows [0, rows_kept); the rest streams.
#include <cstdint>
#include <string>
#include <vector>

#include "model/model.h"
#include "runtime/stream_plan.h"

namespace flashslim::planner {

// A weight matrix the plan may keep or stream, in schedule order.
struct Matrix {
  const gguf::TensorInfo* info = nullptr;
  int32_t step = 0;        // schedule step index that reads it
  int32_t layer = -1;      // -1 for the head
  bool attention = false;  // attn_* (else FFN, or the head when layer < 0)
};

// Every matrix the schedule reads (token_embd only when tied to the head).
std::vector<Matrix> schedule_matrices(const Model& model);
// Bytes of the vectors every plan keeps resident.
std::vector<const gguf::TensorInfo*> schedule_vectors(const Model& model);

// Which class of tensors flexible preservation keeps first.
enum class FlexibleOrder { AttentionFirst, FfnFirst };
const char* flexible_order_name(FlexibleOrder order);  // "attention first", "ffn first"
// "attention-first" or "ffn-first" (as the CLI spells them); Error lists both.
FlexibleOrder parse_flexible_order(const std::string& name);

struct Residency {
  ResidencyPolicy policy = ResidencyPolicy::Balanced;
  FlexibleOrder order = FlexibleOrder::AttentionFirst;  // Flexible only
  std::vector<int64_t> rows_kept;                       // per schedule_matrices() entry
  uint64_t matrix_bytes = 0;                            // bytes of kept matrix rows
  std::string reason;                                   // one line: the policy and what it kept
};

// Keeps more rows of any step that would stream more than the largest layer
// step (usually the output head), so that the slots, which hold one step
// whole, are sized by the layers. Adds to matrix_bytes and the reason.
void cap_streaming_at_layer_steps(const std::vector<Matrix>& matrices, Residency& residency);

// Keeps at most `bytes` of matrix rows under `policy`.
Residency choose_residency(const std::vector<Matrix>& matrices, ResidencyPolicy policy,
                           FlexibleOrder order, uint64_t bytes);

}  // namespace flashslim::planner
