#include "runtime/stream_plan.h"

#include <algorithm>
#include <map>

#include "core/error.h"
#include "model/model.h"
#include "model/weight_access.h"
#include "runtime/read_layout.h"

namespace flashslim {

const char* residency_policy_name(ResidencyPolicy p) {
  switch (p) {
    case ResidencyPolicy::Balanced:
      return "balanced";
    case ResidencyPolicy::Flexible:
      return "flexible";
    case ResidencyPolicy::Layers:
      return "layers";
  }
  return "?";
}

ResidencyPolicy parse_residency_policy(const std::string& name) {
  for (ResidencyPolicy p :
       {ResidencyPolicy::Balanced, ResidencyPolicy::Flexible, ResidencyPolicy::Layers})
    if (name == residency_policy_name(p)) return p;
  fail("--policy '{}': expected balanced, flexible or layers", name);
}

uint64_t chunk_read_bytes(const std::vector<TensorRows>& parts) {
  return layout_reads(parts, kStreamReadAlignment, kStreamReadAlignment).buffer_bytes;
}

uint64_t plan_memory_bytes(const StreamPlan& plan) {
  const uint64_t slots = plan.chunks.empty() ? 0 : plan.slot_bytes * plan.n_slots;
  return chunk_read_bytes(plan.resident) + slots;
}

namespace {

// Where the step that reads each tensor is, by tensor name.
std::map<std::string, std::pair<int32_t, const gguf::TensorInfo*>> tensor_steps(
    const Model& model) {
  std::map<std::string, std::pair<int32_t, const gguf::TensorInfo*>> out;
  const auto& steps = model.schedule().steps;
  for (size_t s = 0; s < steps.size(); ++s)
    for (const gguf::TensorInfo* t : steps[s].tensors)
      if (t) out.emplace(t->name, std::make_pair(static_cast<int32_t>(s), t));
  return out;
}

void check_rows(const TensorRows& r, const gguf::TensorInfo& t, const char* where) {
  const uint64_t row_bytes = t.row_bytes();
  if (r.row_begin < 0 || r.row_begin >= r.row_end || r.row_end > t.rows())
    fail("stream plan: {} {} rows {}..{} outside 0..{}", where, r.tensor, r.row_begin, r.row_end,
         t.rows());
  if (r.file_offset != t.offset + r.row_begin * row_bytes ||
      r.bytes != static_cast<uint64_t>(r.row_end - r.row_begin) * row_bytes)
    fail("stream plan: {} {} rows {}..{}: offset {} / {} bytes, the file has them at {} / {}",
         where, r.tensor, r.row_begin, r.row_end, r.file_offset, r.bytes,
         t.offset + r.row_begin * row_bytes, (r.row_end - r.row_begin) * row_bytes);
}

}  // namespace

void validate_stream_plan(const StreamPlan& plan, const Model& model) {
  const auto where = tensor_steps(model);
  const int32_t n_steps = static_cast<int32_t>(model.schedule().steps.size());
  // Row ranges per tensor, from resident rows and chunk parts.
  std::map<std::string, std::vector<std::pair<int64_t, int64_t>>> covered;
  for (const TensorRows& r : plan.resident) {
    const auto it = where.find(r.tensor);
    // The embedding table may keep rows resident for the gather.
    const gguf::TensorInfo* t =
        it != where.end() ? it->second.second : model.file().find_tensor(r.tensor);
    if (!t) fail("stream plan: resident tensor {} is not in the model", r.tensor);
    check_rows(r, *t, "resident");
    covered[r.tensor].emplace_back(r.row_begin, r.row_end);
  }
  if (!plan.chunks.empty() && (plan.n_slots < 1 || plan.slot_bytes == 0))
    fail("stream plan: {} chunks but {} slots of {} bytes", plan.chunks.size(), plan.n_slots,
         plan.slot_bytes);
  if (plan.window < 0) fail("stream plan: window {} is negative", plan.window);
  std::vector<int32_t> held(n_steps, 0);  // chunks held in memory during each step
  for (size_t i = 0; i < plan.chunks.size(); ++i) {
    const Chunk& c = plan.chunks[i];
    if (c.id != static_cast<int32_t>(i)) fail("stream plan: chunk at index {} has id {}", i, c.id);
    if (c.first_step < 0 || c.first_step > c.last_step || c.last_step >= n_steps)
      fail("stream plan: chunk {} covers steps {}..{} of 0..{}", c.id, c.first_step, c.last_step,
           n_steps - 1);
    if (i > 0 && c.first_step < plan.chunks[i - 1].first_step)
      fail("stream plan: chunk {} starts at step {}, before chunk {} (step {})", c.id, c.first_step,
           c.id - 1, plan.chunks[i - 1].first_step);
    if (c.slot != c.id % plan.n_slots)
      fail("stream plan: chunk {} in slot {}, the slot ring puts it in {}", c.id, c.slot,
           c.id % plan.n_slots);
    if (c.parts.empty()) fail("stream plan: chunk {} has no parts", c.id);
    uint64_t bytes = 0;
    for (const TensorRows& r : c.parts) {
      const auto it = where.find(r.tensor);
      if (it == where.end())
        fail("stream plan: chunk {} reads {}, which no step uses", c.id, r.tensor);
      const int32_t step = it->second.first;
      if (step < c.first_step || step > c.last_step)
        fail("stream plan: chunk {} (steps {}..{}) holds {}, read by step {}", c.id, c.first_step,
             c.last_step, r.tensor, step);
      check_rows(r, *it->second.second, "chunk");
      covered[r.tensor].emplace_back(r.row_begin, r.row_end);
      bytes += r.bytes;
    }
    if (bytes != c.bytes)
      fail("stream plan: chunk {} says {} bytes, its parts have {}", c.id, c.bytes, bytes);
    const uint64_t need = chunk_read_bytes(c.parts);
    if (need > plan.slot_bytes)
      fail("stream plan: chunk {} needs {} bytes of slot for aligned reads, slots have {}", c.id,
           need, plan.slot_bytes);
    for (int32_t s = c.first_step; s <= c.last_step; ++s) ++held[s];
  }
  for (int32_t s = 0; s < n_steps; ++s)
    if (held[s] > plan.n_slots)
      fail("stream plan: step {} needs {} chunks at once, there are {} slots",
           model.schedule().steps[s].name(), held[s], plan.n_slots);
  for (const auto& [name, entry] : where) {
    const gguf::TensorInfo& t = *entry.second;
    auto ranges = covered[name];
    std::sort(ranges.begin(), ranges.end());
    int64_t next = 0;
    for (const auto& [begin, end] : ranges) {
      if (begin != next)
        fail("stream plan: {} rows {}..{} {}", name, std::min(begin, next), std::max(begin, next),
             begin < next ? "covered twice" : "missing");
      next = end;
    }
    if (next != t.rows()) fail("stream plan: {} rows {}..{} missing", name, next, t.rows());
    if (ranges.size() > static_cast<size_t>(WeightView::kMaxParts))
      fail("stream plan: {} is cut into {} pieces, at most {}", name, ranges.size(),
           WeightView::kMaxParts);
  }
}

}  // namespace flashslim
