#pragma once
// Opt-in per-op timings of the forward pass (`flashslim run --op-profile`): wall time
// summed per op class. The forward pass holds an OpProfile pointer, null unless
// profiling is asked for; an OpLap on a null profile reads no clock, so the disabled
// cost is one pointer test per op. Enabled, one lap is one clock read (~20-30 ns via
// the vDSO), about 10 per layer per token.
// Not thread-safe: laps run on the thread that calls Forward::eval (the parallel kernels
// inside an op are timed from outside, as the wall time of the op).
#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "storage/io_stats.h"

namespace flashslim {

enum class OpClass : uint8_t {
  Weights,    // weight access: acquire/release of each step (waits for streamed weights), embedding
              // rows
  NormRope,   // RMSNorm, RoPE, bias and residual adds, SwiGLU, KV-cache stores
  AttnProj,   // q, k, v and output projections (with activation quantization)
  Attention,  // scores, softmax, weighted sum over the KV cache
  FfnProj,    // gate, up and down projections
  Head,       // vocabulary projection
};
inline constexpr size_t kOpClassCount = 6;

// "weights", "norm_rope", "attn_proj", "attention", "ffn_proj", "head": the JSON keys.
std::string_view op_class_name(OpClass c);

// Cumulative nanoseconds per op class, and the number of laps taken (for the cost of
// the timing itself).
struct OpProfile {
  std::array<uint64_t, kOpClassCount> ns{};
  uint64_t laps = 0;
};

// One line of --op-profile: the times between two snapshots of a profile, for token-log
// entry `index`: {"i": index, "weights_ns": .., "norm_rope_ns": .., ..., "laps": ..}.
nlohmann::json op_times_json(const OpProfile& from, const OpProfile& to, size_t index);

// Times consecutive ops as laps: next(c) ends the running op (if any) and starts c;
// stop() (or the destructor) ends the running op.
class OpLap {
 public:
  explicit OpLap(OpProfile* profile) : profile_(profile) {}
  OpLap(const OpLap&) = delete;
  OpLap& operator=(const OpLap&) = delete;
  ~OpLap() { stop(); }

  void next(OpClass c) {
    if (!profile_) return;
    const uint64_t now = storage::now_ns();
    if (running_) profile_->ns[static_cast<size_t>(current_)] += now - start_;
    ++profile_->laps;
    current_ = c;
    start_ = now;
    running_ = true;
  }
  void stop() {
    if (!profile_ || !running_) return;
    profile_->ns[static_cast<size_t>(current_)] += storage::now_ns() - start_;
    running_ = false;
  }

 private:
  OpProfile* profile_;
  OpClass current_ = OpClass::Weights;
  uint64_t start_ = 0;
  bool running_ = false;
};

}  // namespace flashslim
