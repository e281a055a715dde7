#include "runtime/slot_pool.h"

#include "core/error.h"

namespace flashslim {

const char* slot_state_name(SlotState state) {
  switch (state) {
    case SlotState::Empty:
      return "EMPTY";
    case SlotState::Filling:
      return "FILLING";
    case SlotState::Ready:
      return "READY";
    case SlotState::InUse:
      return "IN_USE";
  }
  return "?";
}

SlotPool::SlotPool(int32_t n_slots, uint64_t slot_bytes)
    : slot_bytes_(slot_bytes),
      slot_stride_(storage::align_up(slot_bytes, storage::AlignedBuffer::kDefaultAlignment)),
      buffer_(storage::AlignedBuffer::huge_paged(slot_stride_ * n_slots)) {
  slots_.resize(n_slots);
}

uint8_t* SlotPool::data(int32_t slot) {
  if (slot < 0 || slot >= size()) fail("internal: slot {} of a pool of {}", slot, size());
  return buffer_.data() + slot_stride_ * static_cast<uint64_t>(slot);
}

bool SlotPool::ready(int32_t slot, int64_t sequence) const {
  const Slot& s = slots_.at(slot);
  return s.state == SlotState::Ready && s.sequence == sequence;
}

void SlotPool::move(int32_t slot, SlotState from, SlotState to) {
  Slot& s = slots_.at(slot);
  if (s.state != from)
    fail("internal: slot {} is {} (chunk #{}), cannot go {} -> {}", slot, slot_state_name(s.state),
         s.sequence, slot_state_name(from), slot_state_name(to));
  s.state = to;
}

void SlotPool::start_fill(int32_t slot, int64_t sequence) {
  move(slot, SlotState::Empty, SlotState::Filling);
  slots_[slot].sequence = sequence;
}

void SlotPool::finish_fill(int32_t slot) { move(slot, SlotState::Filling, SlotState::Ready); }

void SlotPool::take(int32_t slot, int64_t sequence) {
  if (slots_.at(slot).sequence != sequence)
    fail("internal: slot {} holds chunk #{}, asked for #{}", slot, slots_[slot].sequence, sequence);
  move(slot, SlotState::Ready, SlotState::InUse);
}

void SlotPool::give_back(int32_t slot) { move(slot, SlotState::InUse, SlotState::Empty); }

}  // namespace flashslim
