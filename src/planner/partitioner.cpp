#include "planner/partitioner.h"

#include <algorithm>

#include "core/error.h"

namespace flashslim::planner {

std::vector<std::vector<TensorRows>> streamed_parts(const Model& model,
                                                    const std::vector<Matrix>& matrices,
                                                    const Residency& residency) {
  std::vector<std::vector<TensorRows>> out(model.schedule().steps.size());
  for (size_t i = 0; i < matrices.size(); ++i) {
    const gguf::TensorInfo& t = *matrices[i].info;
    const int64_t kept = residency.rows_kept[i];
    if (kept >= t.rows()) continue;
    const uint64_t row_bytes = t.row_bytes();
    out[matrices[i].step].push_back({t.name, kept, t.rows(), t.offset + kept * row_bytes,
                                     static_cast<uint64_t>(t.rows() - kept) * row_bytes});
  }
  for (auto& parts : out)
    std::sort(parts.begin(), parts.end(), [](const TensorRows& a, const TensorRows& b) {
      return a.file_offset < b.file_offset;
    });
  return out;
}

uint64_t min_slot_bytes(const std::vector<std::vector<TensorRows>>& parts) {
  uint64_t most = 0;
  for (const auto& step : parts) most = std::max(most, chunk_read_bytes(step));
  return most;
}

namespace {

// A chunk being grown: steps [first, last] and their parts.
struct Open {
  int32_t first = -1, last = -1;
  std::vector<TensorRows> parts;
  bool empty() const { return first < 0; }
};

}  // namespace

std::vector<Chunk> partition(const PartitionInput& in, int32_t n_slots) {
  const auto& parts = *in.parts;
  const auto& compute = *in.compute_ms;
  const int32_t n_steps = static_cast<int32_t>(parts.size());
  if (min_slot_bytes(parts) > in.slot_bytes)
    fail("partition: slots of {} bytes cannot hold a step of {} bytes", in.slot_bytes,
         min_slot_bytes(parts));

  std::vector<Chunk> chunks;
  auto close = [&](Open& c) {
    Chunk out;
    out.id = static_cast<int32_t>(chunks.size());
    out.first_step = c.first;
    out.last_step = c.last;
    out.parts = std::move(c.parts);
    for (const TensorRows& p : out.parts) out.bytes += p.bytes;
    out.slot = out.id % n_slots;
    chunks.push_back(std::move(out));
    c = Open{};
  };
  // Compute time available to hide the next chunk's read: from the current
  // chunk's first step up to the step before `next_first`.
  auto compute_between = [&](int32_t from, int32_t to_exclusive) {
    double ms = 0;
    for (int32_t s = from; s < to_exclusive; ++s) ms += compute[s];
    return ms;
  };

  int32_t current_first = -1;  // first step of the previous closed chunk
  Open open;
  for (int32_t s = 0; s < n_steps; ++s) {
    if (parts[s].empty()) continue;
    if (open.empty()) {
      open.first = open.last = s;
      open.parts = parts[s];
      continue;
    }
    std::vector<TensorRows> grown = open.parts;
    grown.insert(grown.end(), parts[s].begin(), parts[s].end());
    const uint64_t grown_bytes = chunk_read_bytes(grown);
    // The open chunk loads while the previous chunk computes, up to the open
    // chunk's first step. Grow it while its read still hides there.
    const double hide_ms = current_first < 0 ? 0 : compute_between(current_first, open.first);
    if (grown_bytes <= in.slot_bytes && current_first >= 0 && in.io_ms(grown_bytes) <= hide_ms) {
      open.last = s;
      open.parts = std::move(grown);
      continue;
    }
    current_first = open.first;
    close(open);
    open.first = open.last = s;
    open.parts = parts[s];
  }
  if (!open.empty()) close(open);
  // Parts of a merged chunk keep file order within the chunk.
  for (Chunk& c : chunks)
    std::sort(c.parts.begin(), c.parts.end(), [](const TensorRows& a, const TensorRows& b) {
      return a.file_offset < b.file_offset;
    });
  return chunks;
}

}  // namespace flashslim::planner
