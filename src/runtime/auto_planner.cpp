#include "runtime/auto_planner.h"

#include <algorithm>

#include "core/error.h"
#include "planner/partitioner.h"
#include "planner/residency.h"

namespace flashslim {

namespace {

struct Candidate {
  StreamPlan plan;
  uint64_t memory = 0;
};

// Lets the head's matrices stream at most `cap` bytes of aligned reads by
// keeping more of their leading rows resident.
void shave_head(const std::vector<planner::Matrix>& matrices, planner::Residency& residency,
                uint64_t cap) {
  uint64_t left = cap;
  for (size_t i = 0; i < matrices.size(); ++i) {
    if (matrices[i].layer >= 0) continue;
    const gguf::TensorInfo& t = *matrices[i].info;
    const uint64_t room = left > 2 * kStreamReadAlignment ? left - 2 * kStreamReadAlignment : 0;
    const int64_t streamed = std::min<int64_t>(t.rows() - residency.rows_kept[i],
                                               static_cast<int64_t>(room / t.row_bytes()));
    residency.rows_kept[i] = t.rows() - streamed;
    left -= std::min<uint64_t>(left, streamed * t.row_bytes() + 2 * kStreamReadAlignment);
  }
}

// Rows of `part` cut into `n` near-equal pieces (n <= rows).
std::vector<TensorRows> even_pieces(const TensorRows& part, int64_t n) {
  const int64_t rows = part.row_end - part.row_begin;
  const uint64_t row_bytes = part.bytes / static_cast<uint64_t>(rows);
  std::vector<TensorRows> pieces;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t begin = part.row_begin + rows * i / n;
    const int64_t end = part.row_begin + rows * (i + 1) / n;
    pieces.push_back({part.tensor, begin, end,
                      part.file_offset + static_cast<uint64_t>(begin - part.row_begin) * row_bytes,
                      static_cast<uint64_t>(end - begin) * row_bytes});
  }
  return pieces;
}

uint64_t largest_read(const std::vector<TensorRows>& pieces) {
  uint64_t most = 0;
  for (const TensorRows& p : pieces) most = std::max(most, chunk_read_bytes({p}));
  return most;
}

// Rows of `part` cut into the fewest near-equal pieces whose aligned reads
// each fit `slot_bytes`.
std::vector<TensorRows> split_rows(const TensorRows& part, uint64_t slot_bytes) {
  for (int64_t n = 1; n <= part.row_end - part.row_begin; ++n) {
    std::vector<TensorRows> pieces = even_pieces(part, n);
    if (largest_read(pieces) <= slot_bytes) return pieces;
  }
  fail("internal: {} rows {}..{}: one row does not fit a {}-byte slot", part.tensor, part.row_begin,
       part.row_end, slot_bytes);
}

// Slot size: the larger aligned half of the largest streamed matrix of a
// layer step. A step holds all its streamed rows at once, so the pool needs
// the largest step plus room to read ahead; with whole-step slots that was
// 3 x the largest step (one in use, two filling), with half-matrix slots the
// FFN-in step (gate + up) holds 4 slots and at least two more read ahead
// (1.5 x; more where the budget allows kPrefetchBytes ahead).
// Halves also keep a matrix in at most 3 pieces (resident rows + 2).
uint64_t slot_bytes_for(const Model& model, const std::vector<std::vector<TensorRows>>& parts) {
  const auto& steps = model.schedule().steps;
  uint64_t bytes = kMinSlotBytes;
  for (size_t s = 0; s < steps.size(); ++s)
    if (steps[s].kind != StepKind::Head)
      for (const TensorRows& p : parts[s])
        bytes = std::max(
            bytes, largest_read(even_pieces(p, std::min<int64_t>(2, p.row_end - p.row_begin))));
  return bytes;
}

// `read_ahead_bytes`: what the slots beyond the held ones should hold at
// least (0: just kPrefetchSlots, the least memory streaming can run in).
Candidate build(const Model& model, const std::vector<planner::Matrix>& matrices,
                ResidencyPolicy policy, planner::FlexibleOrder order, uint64_t keep,
                uint64_t read_ahead_bytes) {
  const auto& steps = model.schedule().steps;
  planner::Residency residency = planner::choose_residency(matrices, policy, order, keep);
  auto parts = planner::streamed_parts(model, matrices, residency);
  const uint64_t slot_bytes = slot_bytes_for(model, parts);
  shave_head(matrices, residency, slot_bytes);
  parts = planner::streamed_parts(model, matrices, residency);

  Candidate c;
  StreamPlan& plan = c.plan;
  plan.policy = policy;
  for (const gguf::TensorInfo* t : planner::schedule_vectors(model))
    plan.resident.push_back({t->name, 0, t->rows(), t->offset, t->nbytes});
  for (size_t i = 0; i < matrices.size(); ++i) {
    const gguf::TensorInfo& t = *matrices[i].info;
    if (residency.rows_kept[i] > 0)
      plan.resident.push_back(
          {t.name, 0, residency.rows_kept[i], t.offset, residency.rows_kept[i] * t.row_bytes()});
  }
  // Pieces of consecutive steps packed into one chunk while their reads fit a slot.
  for (size_t s = 0; s < steps.size(); ++s) {
    for (const TensorRows& part : parts[s]) {
      for (TensorRows& piece : split_rows(part, slot_bytes)) {
        if (!plan.chunks.empty()) {
          Chunk& last = plan.chunks.back();
          std::vector<TensorRows> merged = last.parts;
          merged.push_back(piece);
          if (chunk_read_bytes(merged) <= slot_bytes) {
            last.parts = std::move(merged);
            last.last_step = static_cast<int32_t>(s);
            continue;
          }
        }
        Chunk chunk;
        chunk.id = static_cast<int32_t>(plan.chunks.size());
        chunk.first_step = chunk.last_step = static_cast<int32_t>(s);
        chunk.parts.push_back(std::move(piece));
        plan.chunks.push_back(std::move(chunk));
      }
    }
  }
  std::vector<int32_t> held(steps.size(), 0);  // chunks held at once during each step
  for (Chunk& chunk : plan.chunks) {
    chunk.bytes = 0;
    for (const TensorRows& p : chunk.parts) chunk.bytes += p.bytes;
    for (int32_t s = chunk.first_step; s <= chunk.last_step; ++s) ++held[s];
  }
  if (!plan.chunks.empty()) {
    plan.slot_bytes = slot_bytes;
    const int32_t most_held = *std::max_element(held.begin(), held.end());
    const auto for_bytes = static_cast<int32_t>((read_ahead_bytes + slot_bytes - 1) / slot_bytes);
    plan.n_slots = most_held + std::max(kPrefetchSlots, std::min(for_bytes, kMaxSlots - most_held));
  }
  c.memory = plan_memory_bytes(plan);
  return c;
}

void finish(StreamPlan& plan, uint64_t weight_bytes) {
  if (!plan.chunks.empty()) {
    const uint64_t used = plan_memory_bytes(plan);
    const uint64_t extra = weight_bytes > used ? (weight_bytes - used) / plan.slot_bytes : 0;
    plan.n_slots = static_cast<int32_t>(
        std::min<uint64_t>(kMaxSlots, static_cast<uint64_t>(plan.n_slots) + extra));
  }
  plan.window = std::max(0, plan.n_slots - 1);
  for (Chunk& chunk : plan.chunks) chunk.slot = chunk.id % plan.n_slots;
}

planner::FlexibleOrder flexible_order(const std::vector<planner::Matrix>& matrices,
                                      uint64_t weight_bytes) {
  uint64_t total = 0;
  for (const auto& m : matrices) total += m.info->nbytes;
  // FlexInfer: with much memory keep the large FFN tensors, with little the attention ones.
  return weight_bytes >= total / 2 ? planner::FlexibleOrder::FfnFirst
                                   : planner::FlexibleOrder::AttentionFirst;
}

}  // namespace

uint64_t min_streaming_bytes(const Model& model, ResidencyPolicy policy) {
  const auto matrices = planner::schedule_matrices(model);
  return build(model, matrices, policy, planner::FlexibleOrder::AttentionFirst, 0, 0).memory;
}

StreamPlan plan_streaming(const Model& model, uint64_t weight_bytes, ResidencyPolicy policy) {
  const auto matrices = planner::schedule_matrices(model);
  const planner::FlexibleOrder order = flexible_order(matrices, weight_bytes);
  uint64_t matrix_bytes = 0;
  for (const auto& m : matrices) matrix_bytes += m.info->nbytes;
  // Read ahead kPrefetchBytes where the budget allows it, else the least.
  uint64_t read_ahead_bytes = kPrefetchBytes;
  Candidate best = build(model, matrices, policy, order, 0, read_ahead_bytes);
  if (best.memory > weight_bytes) {
    read_ahead_bytes = 0;
    best = build(model, matrices, policy, order, 0, read_ahead_bytes);
  }
  if (best.memory > weight_bytes)
    fail(
        "{}: streaming needs at least {} bytes for weights (vectors, the head's resident rows "
        "and {} slots of {} bytes); {} bytes are left for them",
        model.file().path, best.memory, best.plan.n_slots, best.plan.slot_bytes, weight_bytes);
  // Every weight resident and no slots, where that fits. The search below
  // cannot find it: one streamed row brings its slots, so keeping all but a
  // little needs more memory than keeping everything (TinyLlama Q4_0 with
  // 1-15 MiB more than its weights streamed 15-1 MiB a token). Not for a
  // model smaller than its least slot pool (the synth fixtures): asked to
  // stream, it still streams.
  Candidate whole = build(model, matrices, policy, order, matrix_bytes, read_ahead_bytes);
  if (whole.memory >= best.memory && whole.memory <= weight_bytes) {
    finish(whole.plan, weight_bytes);
    return whole.plan;
  }
  uint64_t lo = 0, hi = matrix_bytes;
  // Largest kept bytes whose plan fits: memory grows with `keep` except where
  // the head's shaving absorbs it, so search and keep the best fitting one.
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo + 1) / 2;
    Candidate c = build(model, matrices, policy, order, mid, read_ahead_bytes);
    if (c.memory <= weight_bytes) {
      lo = mid;
      best = std::move(c);
    } else {
      hi = mid - 1;
    }
  }
  finish(best.plan, weight_bytes);
  return best.plan;
}

}  // namespace flashslim
