#pragma once
// A WeightAccess decorator that times the forward pass at its event hooks:
// for each step, acquire() → release() (the step's compute: its weights are in
// memory when acquire returns, so any wait of the wrapped access is excluded),
// and the rest of the pass (begin_pass → end_pass minus the steps and the
// time inside the wrapped acquire, i.e. its waits for chunks), e.g. the
// embedding gather. Not thread-safe, like every WeightAccess.
#include <cstdint>
#include <vector>

#include "model/weight_access.h"

namespace flashslim::planner {

class TimingWeights : public WeightAccess {
 public:
  TimingWeights(WeightAccess& inner, size_t n_steps);

  void begin_pass(int32_t n_tokens) override;
  StepWeights acquire(int32_t step_index) override;
  void release(int32_t step_index) override;
  void gather_rows(const gguf::TensorInfo& table, std::span<const int32_t> ids,
                   float* out) override;
  void end_pass() override;

  // Of the last completed pass, in ns.
  const std::vector<uint64_t>& step_ns() const { return step_ns_; }
  uint64_t outside_steps_ns() const { return outside_ns_; }

 private:
  WeightAccess& inner_;
  std::vector<uint64_t> step_ns_;
  uint64_t pass_start_ = 0;
  uint64_t step_start_ = 0;
  uint64_t in_steps_ns_ = 0;
  uint64_t waiting_ns_ = 0;  // inside inner_.acquire this pass
  uint64_t outside_ns_ = 0;
};

}  // namespace flashslim::planner
