#pragma once
// The streaming runtime's chunk slots: parts of one huge-paged buffer (the
// disk reads into huge pages much faster, see AlignedBuffer::huge_paged), each moving
// EMPTY → FILLING → READY → IN_USE → EMPTY as the prefetcher reads a chunk
// into it and the compute uses and releases it. Every transition checks the
// state it leaves, so a runtime bug is an Error, not silently wrong weights.
// Not thread-safe: the owner guards it with its own lock.
#include <cstdint>
#include <vector>

#include "storage/aligned_buffer.h"

namespace flashslim {

enum class SlotState { Empty, Filling, Ready, InUse };
const char* slot_state_name(SlotState state);

class SlotPool {
 public:
  SlotPool(int32_t n_slots, uint64_t slot_bytes);

  int32_t size() const { return static_cast<int32_t>(slots_.size()); }
  uint64_t slot_bytes() const { return slot_bytes_; }
  uint8_t* data(int32_t slot);
  SlotState state(int32_t slot) const { return slots_.at(slot).state; }
  // Sequence number (k-th chunk of the run) the slot holds or is filling; -1 before the first.
  int64_t sequence(int32_t slot) const { return slots_.at(slot).sequence; }
  // True when `slot` holds chunk number `sequence`, read completely.
  bool ready(int32_t slot, int64_t sequence) const;

  void start_fill(int32_t slot, int64_t sequence);  // EMPTY → FILLING
  void finish_fill(int32_t slot);                   // FILLING → READY
  void take(int32_t slot, int64_t sequence);        // READY → IN_USE, of that sequence number
  void give_back(int32_t slot);                     // IN_USE → EMPTY

 private:
  struct Slot {
    SlotState state = SlotState::Empty;
    int64_t sequence = -1;
  };
  void move(int32_t slot, SlotState from, SlotState to);

  uint64_t slot_bytes_;
  uint64_t slot_stride_;  // slot_bytes_ rounded up to a page: where each slot starts
  storage::AlignedBuffer buffer_;
  std::vector<Slot> slots_;
};

}  // namespace flashslim
