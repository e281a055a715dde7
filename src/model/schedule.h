#pragma once
// The execution schedule: the ordered steps of one forward pass. Each step is
// one group of operations that reads weights, and names those weights. The
// same order holds for every token (decode) and every batch (prefill); the
// runtime prefetches along it, cyclically (after the head of token t comes
// layer 0 of token t+1).
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "model/hparams.h"

namespace flashslim {

enum class StepKind : uint8_t {
  AttentionIn,   // attn_norm, then q/k/v projections (+ biases)
  AttentionOut,  // attention output projection
  FfnIn,         // ffn_norm, then gate and up projections
  FfnOut,        // down projection
  Head,          // output_norm, then the output (vocabulary) projection
};
const char* step_kind_name(StepKind kind);

// Fixed tensor slots per step kind (a slot may be empty, e.g. biases).
namespace slot {
inline constexpr int kNorm = 0;  // AttentionIn, FfnIn, Head
inline constexpr int kQ = 1, kK = 2, kV = 3, kQBias = 4, kKBias = 5, kVBias = 6;  // AttentionIn
inline constexpr int kOut = 0;            // AttentionOut, FfnOut (down), Head uses kOutput
inline constexpr int kGate = 1, kUp = 2;  // FfnIn
inline constexpr int kOutput = 1;         // Head
inline constexpr int kCount = 7;
}  // namespace slot

struct Step {
  StepKind kind;
  int32_t layer;  // -1 for Head
  std::array<const gguf::TensorInfo*, slot::kCount> tensors{};
  std::string name() const;  // "blk.3.ffn_in", "head"
  uint64_t weight_bytes() const;
};

struct Schedule {
  std::vector<Step> steps;                       // in execution order
  const gguf::TensorInfo* token_embd = nullptr;  // gathered by row, not streamed
};

// Finds every tensor the architecture needs and checks its type and shape;
// Error names the missing or malformed tensor.
Schedule build_schedule(const gguf::File& file, const HParams& hp);

}  // namespace flashslim
