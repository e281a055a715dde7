#include "planner/timing_weights.h"

#include "core/error.h"
#include "storage/io_stats.h"

namespace flashslim::planner {

using storage::now_ns;

TimingWeights::TimingWeights(WeightAccess& inner, size_t n_steps)
    : inner_(inner), step_ns_(n_steps) {}

void TimingWeights::begin_pass(int32_t n_tokens) {
  inner_.begin_pass(n_tokens);
  std::fill(step_ns_.begin(), step_ns_.end(), 0);
  in_steps_ns_ = 0;
  waiting_ns_ = 0;
  pass_start_ = now_ns();
}

StepWeights TimingWeights::acquire(int32_t step_index) {
  const uint64_t asked = now_ns();
  StepWeights w = inner_.acquire(step_index);
  step_start_ = now_ns();
  waiting_ns_ += step_start_ - asked;
  return w;
}

void TimingWeights::release(int32_t step_index) {
  const uint64_t ns = now_ns() - step_start_;
  if (step_index < 0 || static_cast<size_t>(step_index) >= step_ns_.size())
    fail("TimingWeights: step {} is outside the schedule of {} steps", step_index, step_ns_.size());
  step_ns_[step_index] = ns;
  in_steps_ns_ += ns;
  inner_.release(step_index);
}

void TimingWeights::gather_rows(const gguf::TensorInfo& table, std::span<const int32_t> ids,
                                float* out) {
  inner_.gather_rows(table, ids, out);
}

void TimingWeights::end_pass() {
  const uint64_t pass_ns = now_ns() - pass_start_;
  const uint64_t accounted = in_steps_ns_ + waiting_ns_;
  outside_ns_ = pass_ns > accounted ? pass_ns - accounted : 0;
  inner_.end_pass();
}

}  // namespace flashslim::planner
