#pragma once
// The runtime's automatic planner: a StreamPlan for a number of bytes the
// budget leaves for weights, without a profile (`flashslim plan` makes
// profile-driven ones; the runtime executes either).
// - Residency by policy (planner::choose_residency); vectors always resident.
// - Slot size: the larger half of the largest streamed matrix of a layer step
//   (at least kMinSlotBytes). Every step is held whole while it computes, so
//   the pool holds the largest streamed step plus the slots reading ahead;
//   half-matrix slots hold that step in smaller pieces than whole-step slots
//   (at least 1.5x the largest step instead of 3x).
// - The output head keeps enough rows resident that it streams no more than
//   one slot (rows moved into residency save what they would cost in slots).
// - Chunks: each streamed part cut into the fewest row pieces that fit a
//   slot, pieces of consecutive steps packed into one chunk while they fit.
// - Slots: the most chunks one step holds plus read-ahead slots, at least
//   kPrefetchSlots and, where the budget allows, together at least
//   kPrefetchBytes (two half-matrix slots left ~5 MiB in flight while a step
//   computed, and the disk's rate fell ~20%); more if the budget leaves room
//   (up to kMaxSlots); window = n_slots - 1.
// The largest residency whose memory (plan_memory_bytes) fits is chosen.
#include <cstdint>

#include "model/model.h"
#include "runtime/stream_plan.h"

namespace flashslim {

inline constexpr int32_t kPrefetchSlots = 2;
inline constexpr uint64_t kPrefetchBytes = 16ull << 20;
inline constexpr int32_t kMaxSlots = 16;
inline constexpr uint64_t kMinSlotBytes = 1ull << 20;

// Error "... needs at least N bytes for weights" when `weight_bytes` is too small.
StreamPlan plan_streaming(const Model& model, uint64_t weight_bytes, ResidencyPolicy policy);

// The least weight memory any plan_streaming plan needs (nothing resident but vectors).
uint64_t min_streaming_bytes(const Model& model, ResidencyPolicy policy);

}  // namespace flashslim
