#pragma once
// The runtime's automatic planner: a StreamPlan for a number of bytes the
// budget leaves for weights, without a profile (`flashslim plan` makes
// profile-driven ones; the runtime executes either).
// - Residency by policy (planner::choose_residency); vectors always resident.
// - The output head, usually the largest step, keeps enough rows resident
//   that it streams no more than the largest layer step: every step is
//   held whole while it computes, so the slot pool must hold the largest
//   streamed step, and rows moved from the head into residency cost what they
//   save in slots.
// - Chunks: consecutive steps' streamed rows merged while they fit one slot
//   (the largest streamed step, at least kMinSlotBytes).
// - Slots: the chunks one step holds plus kPrefetchSlots, more if the budget
//   leaves room (up to kMaxSlots); window = n_slots - 1.
// The largest residency whose memory (plan_memory_bytes) fits is chosen.
#include <cstdint>

#include "model/model.h"
#include "runtime/stream_plan.h"

namespace flashslim {

inline constexpr int32_t kPrefetchSlots = 2;
inline constexpr int32_t kMaxSlots = 16;
inline constexpr uint64_t kMinSlotBytes = 1ull << 20;

// Error "... needs at least N bytes for weights" when `weight_bytes` is too small.
StreamPlan plan_streaming(const Model& model, uint64_t weight_bytes, ResidencyPolicy policy);

// The least weight memory any plan_streaming plan needs (nothing resident but vectors).
uint64_t min_streaming_bytes(const Model& model, ResidencyPolicy policy);

}  // namespace flashslim
