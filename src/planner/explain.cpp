#include "planner/explain.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"

namespace flashslim::planner {

namespace {

std::string mib(uint64_t bytes) { return fmt::format("{:.1f} MiB", bytes / 1048576.0); }

// Compute within this factor of (weight bytes / memory bandwidth) counts as
// bound by memory bandwidth rather than arithmetic.
constexpr double kMemoryBoundSlack = 1.5;

double weight_bytes(const Plan& p) {
  uint64_t sum = 0;
  for (const ResidentRows& r : p.resident) sum += r.rows.bytes;
  return static_cast<double>(sum + p.streamed_bytes_per_token);
}

}  // namespace

const char* binding_resource_name(BindingResource r) {
  switch (r) {
    case BindingResource::Disk:
      return "disk";
    case BindingResource::Compute:
      return "compute";
    case BindingResource::MemoryBandwidth:
      return "memory bandwidth";
  }
  return "?";
}

BindingResource binding_resource(const Plan& p, const Profile& profile) {
  const SimulationResult& t = p.decode.timeline;
  if (t.io_ms > t.compute_ms) return BindingResource::Disk;
  const double memory_ms = weight_bytes(p) / (profile.memory_gb_per_s * 1e6);
  return t.compute_ms <= kMemoryBoundSlack * memory_ms ? BindingResource::MemoryBandwidth
                                                       : BindingResource::Compute;
}

std::string explain_plan(const Plan& p, const Model& model, const Profile& profile,
                         const PlanRequest& request) {
  const SimulationResult& t = p.decode.timeline;
  std::string out;
  out += fmt::format("plan for {} ({}) under a budget of {}, policy {}, {} threads\n",
                     p.model.file_name, mib(p.model.file_size), mib(p.budget_bytes),
                     residency_policy_name(p.policy), p.shape.threads);
  out += fmt::format(
      "memory at peak: resident weights {}, {} slots x {} = {}, KV cache and buffers {} "
      "(ctx {}, batch {}), process {}; {} of the budget left\n",
      mib(p.memory.resident_weights), p.n_slots, mib(p.slot_bytes), mib(p.memory.slots),
      mib(p.memory.forward), p.shape.n_ctx, p.shape.n_batch, mib(p.memory.overhead),
      mib(p.budget_left()));
  out += fmt::format("residency: {}\n", p.residency_reason);
  out += fmt::format(
      "decode: {:.2f} tokens/s predicted; bound {:.2f} (min of compute {:.2f}, disk {:.2f} GB/s "
      "/ {} streamed per token)\n",
      p.decode.tokens_per_s(), p.bound_tokens_per_s, 1000.0 / t.compute_ms, p.read.gb_per_s,
      mib(p.streamed_bytes_per_token));
  out += fmt::format(
      "  per token: compute {:.1f} ms, disk busy {:.1f} ms ({} chunks, reads of {} KiB at "
      "depth {}, {:.2f} GB/s), waiting for chunks {:.1f} ms\n",
      t.compute_ms, t.io_ms, p.decode.chunks.size(), p.read.read_bytes >> 10, p.read.queue_depth,
      p.read.gb_per_s, t.stall_ms);
  const BindingResource binding = binding_resource(p, profile);
  out += fmt::format("  binding resource: {}", binding_resource_name(binding));
  if (binding == BindingResource::Disk)
    out += fmt::format(
        " (reads take {:.0f}% of the compute time; more budget means fewer bytes to read)\n",
        100.0 * t.io_ms / t.compute_ms);
  else
    out += fmt::format(" (weights {} / memory {:.1f} GB/s = {:.1f} ms of the {:.1f} ms compute)\n",
                       mib(static_cast<uint64_t>(weight_bytes(p))), profile.memory_gb_per_s,
                       weight_bytes(p) / (profile.memory_gb_per_s * 1e6), t.compute_ms);
  if (!p.decode.chunks.empty()) {
    std::vector<size_t> order(p.decode.chunks.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return t.chunks[a].stall_ms > t.chunks[b].stall_ms; });
    out += "  longest waits:";
    for (size_t i = 0; i < std::min<size_t>(3, order.size()); ++i) {
      const Chunk& c = p.decode.chunks[order[i]];
      out += fmt::format(" chunk {} ({}: {:.1f} ms read vs {:.1f} ms compute, waits {:.1f} ms);",
                         c.id, p.step_names[c.first_step], t.chunks[order[i]].t_io_ms,
                         t.chunks[order[i]].t_compute_ms, t.chunks[order[i]].stall_ms);
    }
    out += "\n";
  }
  for (const PhasePlan& ph : p.prefill)
    out += fmt::format(
        "prefill, batch {}: {:.1f} tokens/s predicted ({:.1f} ms per pass, {:.1f} ms waiting)\n",
        ph.batch, ph.tokens_per_s(), ph.timeline.pass_ms, ph.timeline.stall_ms);
  out += "a larger budget would buy:";
  for (int percent : {10, 25, 50}) {
    PlanRequest more = request;
    more.budget_bytes = p.budget_bytes + p.budget_bytes * percent / 100;
    const Plan bigger = make_plan(model, profile, more);
    out += fmt::format(" +{}% ({}): {:.2f} t/s;", percent, mib(more.budget_bytes),
                       bigger.decode.tokens_per_s());
  }
  out += "\n";
  return out;
}

}  // namespace flashslim::planner
