#include "planner/planner.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/error.h"
#include "model/forward.h"
#include "planner/partitioner.h"
#include "planner/residency.h"
#include "runtime/auto_planner.h"
#include "runtime/streaming_weights.h"
#include "storage/aligned_buffer.h"

namespace flashslim::planner {

namespace {

constexpr int32_t kDefaultMaxContext = 4096;  // as `run`
// Two slots (one in use, one filling) come last and only when no other
// count fits: with one chunk read ahead the disk waits whenever the compute
// thread resumes late after a stall, which the simulation does not model. On
// TinyLlama at 50% under a load of 6-12, 2-slot plans kept the disk busy 83-90%
// of decode time (7 runs) and ran 1.96 t/s where the 6-slot automatic plan ran
// 2.54 (medians of 3 alternated cold runs), predicted 35% too fast; plans with
// 3-8 slots kept the disk busy 97-100%.
// 12 and 16 let small slots keep the runtime's 16 MiB (kPrefetchBytes) read
// ahead, as the automatic plan does where the budget allows.
constexpr int32_t kSlotCounts[] = {3, 4, 6, 8, 12, 16, 2};
constexpr int32_t kSimulatedPasses = 8;
// The planner's own plan replaces the runtime's automatic plan only when it
// is predicted faster by more than the predictions' error (the ±15% target):
// a smaller predicted gain is as likely a loss. On TinyLlama (session 3) plans
// predicted 10-20% faster than the automatic one ran 9-19% slower.
constexpr double kOwnPlanMargin = 0.15;
// The disk's busy share and the compute slowdown it causes (decode_timing)
// depend on each other: iterated until the share moves less than this, in at
// most kBusyRounds simulations (each round shrinks the change by io x
// slowdown / pass^2 < 1; on TinyLlama's plans 3-5 rounds).
constexpr double kBusyTolerance = 0.002;
constexpr int32_t kBusyRounds = 12;

RunShape run_shape(const Model& model, const Profile& profile, const PlanRequest& r) {
  RunShape s;
  s.threads = profile.threads;
  s.n_ctx = r.n_ctx > 0 ? r.n_ctx : std::min(model.hparams().n_ctx_train, kDefaultMaxContext);
  s.n_batch = r.n_batch;
  s.kv_type = r.kv_type;
  return s;
}

// Memory that does not depend on the plan, by the runtime's accounting
// (fixed_memory), with the process baseline taken from the profile (this
// process is not the one that will run). `profile` measures it where `run`
// does; a run whose own is higher by up to kBaselineToleranceBytes still runs
// the plan (open_weights), so the plan keeps what the automatic plan keeps.
MemoryBreakdown fixed_memory_for(const Model& model, const Profile& profile,
                                 const RunShape& shape) {
  ForwardOptions fo;
  fo.n_ctx = shape.n_ctx;
  fo.n_batch = shape.n_batch;
  fo.kv_type = parse_kv_type(shape.kv_type);
  return fixed_memory(model, fo, shape.threads, 1, profile.baseline_rss_bytes);
}

// Weight memory as the runtime lays it out (plan_memory_bytes): resident rows
// aligned for reads, and the slots. Candidates have no chunks yet, and
// plan_memory_bytes counts slots only for a plan with chunks, so they are
// added here.
uint64_t weight_memory(const std::vector<ResidentRows>& resident, int32_t n_slots,
                       uint64_t slot_bytes) {
  StreamPlan s;
  for (const ResidentRows& r : resident) s.resident.push_back(r.rows);
  return plan_memory_bytes(s) + static_cast<uint64_t>(n_slots) * slot_bytes;
}

// The reads a plan runs with, as the runtime makes them (StreamingOptions:
// reads of at most 1 MiB, up to queue_depth in flight), with no more bytes in flight
// than the read-ahead slots hold (those beyond the slots a computing step
// holds); the depth is a power of two, as the curve measures them. Runs keep
// fewer bytes in flight when the slots are few (two slots of 7 MiB read
// 0.70-1.03 GB/s, median 0.84, over 7 cold runs of the 1.1B model at 50%,
// where the curve's best point promised 0.97). Rated by the profile's
// sustained read of the runtime's setting (expected_read_at), not by the
// curve's point: that point, 64 MiB read once, rated the 7B model's reads at
// 2.64 GB/s where its runs read 2.15-2.21 (session 6, plan_bench).
BandwidthPoint read_setting(const Profile& profile, uint64_t read_ahead_bytes) {
  const StreamingOptions reads;
  uint32_t depth = 1;
  while (depth * 2 <= reads.queue_depth && depth * 2 * reads.max_read_bytes <= read_ahead_bytes)
    depth *= 2;
  return profile.expected_read_at(reads.max_read_bytes, depth);
}

// The most chunks any step holds at once (the slots not free to read ahead).
int32_t most_held(const std::vector<Chunk>& chunks, size_t n_steps) {
  std::vector<int32_t> held(n_steps, 0);
  for (const Chunk& c : chunks)
    for (int32_t s = c.first_step; s <= c.last_step; ++s) ++held[s];
  return held.empty() ? 0 : *std::max_element(held.begin(), held.end());
}

// Decode step times when the disk is busy `busy` (0..1) of the pass: between
// the profile's resident timing and its timing while the runtime streams.
PassTiming decode_timing(const Profile& profile, double busy) {
  PassTiming t = profile.decode;
  const PassTiming& streaming = profile.decode_streaming;
  for (size_t s = 0; s < t.step_ms.size(); ++s)
    t.step_ms[s] += busy * (streaming.step_ms[s] - t.step_ms[s]);
  t.outside_steps_ms += busy * (streaming.outside_steps_ms - t.outside_steps_ms);
  return t;
}

double io_ms(const BandwidthPoint& read, uint64_t read_bytes) {
  return static_cast<double>(read_bytes) / (read.gb_per_s * 1e6);
}

std::vector<double> chunk_io_ms(const BandwidthPoint& read, const std::vector<Chunk>& chunks) {
  std::vector<double> out;
  for (const Chunk& c : chunks) out.push_back(io_ms(read, chunk_read_bytes(c.parts)));
  return out;
}

SimulationResult simulate_phase(const BandwidthPoint& read, const std::vector<Chunk>& chunks,
                                const PassTiming& timing, int32_t n_slots, int32_t window) {
  SimulationInput in;
  in.chunks = &chunks;
  in.chunk_io_ms = chunk_io_ms(read, chunks);
  in.step_ms = timing.step_ms;
  in.outside_steps_ms = timing.outside_steps_ms;
  in.n_slots = n_slots;
  in.window = window;
  in.passes = kSimulatedPasses;
  return simulate(in);
}

// A plan's resident rows: every vector whole, and the kept prefix of every matrix.
std::vector<ResidentRows> resident_rows(const Model& model, const std::vector<Matrix>& matrices,
                                        const std::vector<int64_t>& rows_kept) {
  std::vector<ResidentRows> out;
  for (const gguf::TensorInfo* t : schedule_vectors(model))
    out.push_back({{t->name, 0, t->rows(), t->offset, t->nbytes}, t->rows()});
  for (size_t i = 0; i < matrices.size(); ++i) {
    const gguf::TensorInfo& t = *matrices[i].info;
    if (rows_kept[i] > 0)
      out.push_back({{t.name, 0, rows_kept[i], t.offset, rows_kept[i] * t.row_bytes()}, t.rows()});
  }
  return out;
}

std::vector<int64_t> all_rows(const std::vector<Matrix>& matrices) {
  std::vector<int64_t> rows;
  for (const Matrix& m : matrices) rows.push_back(m.info->rows());
  return rows;
}

// Fills in timelines, memory and predictions of a plan whose residency,
// chunks and slots are set.
void predict(const Model& model, const Profile& profile, const MemoryBreakdown& fixed, Plan& p) {
  p.memory.forward = fixed.forward;
  p.memory.overhead = fixed.process;
  p.memory.scratch = fixed.scratch;
  p.memory.slots = static_cast<uint64_t>(p.n_slots) * p.slot_bytes;
  p.memory.resident_weights = weight_memory(p.resident, p.n_slots, p.slot_bytes) - p.memory.slots;
  for (const Step& step : model.schedule().steps) p.step_names.push_back(step.name());

  p.streamed_bytes_per_token = 0;
  for (const Chunk& c : p.decode.chunks) p.streamed_bytes_per_token += c.bytes;
  const int32_t held = most_held(p.decode.chunks, p.step_names.size());
  p.read =
      read_setting(profile, static_cast<uint64_t>(std::max(p.n_slots - held, 0)) * p.slot_bytes);
  p.decode.phase = "decode";
  p.decode.batch = 1;
  // The compute slows while reads are in flight, and how long they are in
  // flight depends on the pass time: start from a disk busy all the time
  // (none without chunks), simulate, and repeat with the busy share that gave.
  double busy = p.decode.chunks.empty() ? 0 : 1;
  PassTiming decode;
  for (int32_t round = 0; round < kBusyRounds; ++round) {
    decode = decode_timing(profile, busy);
    p.decode.timeline = simulate_phase(p.read, p.decode.chunks, decode, p.n_slots, p.window);
    const double next = p.decode.chunks.empty()
                            ? 0
                            : std::min(1.0, p.decode.timeline.io_ms / p.decode.timeline.pass_ms);
    if (std::abs(next - busy) < kBusyTolerance) break;
    busy = next;
  }
  p.prefill.clear();
  for (const PassTiming& t : profile.prefill) {
    PhasePlan ph;
    ph.phase = "prefill";
    ph.batch = t.batch;
    ph.chunks = p.decode.chunks;  // the runtime executes one chunk order for both phases
    ph.timeline = simulate_phase(p.read, ph.chunks, t, p.n_slots, p.window);
    p.prefill.push_back(std::move(ph));
  }
  const double compute_bound = 1000.0 / decode.total_ms();
  const double disk_gbps = p.read.gb_per_s;
  p.bound_tokens_per_s =
      p.streamed_bytes_per_token == 0
          ? compute_bound
          : std::min(compute_bound, disk_gbps * 1e9 / p.streamed_bytes_per_token);
}

struct Candidate {
  Residency residency;
  std::vector<std::vector<TensorRows>> parts;
  uint64_t slot_bytes = 0;
  uint64_t total = 0;  // peak memory
};

// A family of plans: one policy (and flexible order), slot count, and
// whether the head is capped to stream no more than a layer step.
struct Shape {
  ResidencyPolicy policy;
  FlexibleOrder order;
  int32_t n_slots;
  bool cap_head;
};

Candidate candidate_at(const Model& model, const std::vector<Matrix>& matrices,
                       const MemoryBreakdown& fixed, const Shape& shape, uint64_t resident) {
  Candidate c;
  c.residency = choose_residency(matrices, shape.policy, shape.order, resident);
  if (shape.cap_head) cap_streaming_at_layer_steps(matrices, c.residency);
  const int32_t n_slots = shape.n_slots;
  c.parts = streamed_parts(model, matrices, c.residency);
  c.slot_bytes = storage::align_up(min_slot_bytes(c.parts), kStreamReadAlignment);
  c.total = fixed.fixed() + weight_memory(resident_rows(model, matrices, c.residency.rows_kept),
                                          n_slots, c.slot_bytes);
  return c;
}

// The most resident bytes with which the shape still fits the budget,
// or nullopt if none does. Peak memory is not monotonic in resident bytes
// (keeping rows also shrinks the slots), so a coarse scan from the top
// finds the highest feasible region and bisection refines its upper edge.
std::optional<Candidate> best_fit(const Model& model, const std::vector<Matrix>& matrices,
                                  const MemoryBreakdown& fixed, const Shape& shape,
                                  uint64_t matrix_total, uint64_t budget) {
  constexpr int kGrid = 64;
  auto fits = [&](uint64_t r) {
    return candidate_at(model, matrices, fixed, shape, r).total <= budget;
  };
  for (int g = kGrid; g >= 0; --g) {
    const uint64_t r = matrix_total / kGrid * g;
    if (!fits(r)) continue;
    uint64_t lo = r, hi = g == kGrid ? r : matrix_total / kGrid * (g + 1);  // lo fits, hi does not
    while (hi - lo > 4096) {
      const uint64_t mid = lo + (hi - lo) / 2;
      (fits(mid) ? lo : hi) = mid;
    }
    return candidate_at(model, matrices, fixed, shape, lo);
  }
  return std::nullopt;
}

Plan plan_skeleton(const Model& model, const Profile& profile, const PlanRequest& r) {
  Plan p;
  p.model = profile.model;
  p.budget_bytes = r.budget_bytes;
  p.shape = run_shape(model, profile, r);
  p.policy = r.policy;
  p.profile_source = r.profile_source;
  return p;
}

// A Plan with predictions for a StreamPlan made elsewhere.
Plan plan_of_stream(const Model& model, const Profile& profile, const StreamPlan& stream,
                    const PlanRequest& request, std::string reason) {
  Plan p = plan_skeleton(model, profile, request);
  p.budget_bytes = stream.budget_bytes;
  p.policy = stream.policy;
  p.residency_reason = std::move(reason);
  for (const TensorRows& r : stream.resident) {
    const gguf::TensorInfo* t = model.file().find_tensor(r.tensor);
    if (!t) fail("stream plan: resident tensor '{}' is not in the model", r.tensor);
    p.resident.push_back({r, t->rows()});
  }
  p.decode.chunks = stream.chunks;
  p.n_slots = stream.n_slots;
  p.slot_bytes = stream.slot_bytes;
  p.window = stream.window;
  predict(model, profile, fixed_memory_for(model, profile, p.shape), p);
  return p;
}

// The plan the runtime would make itself for this budget (runtime/auto_planner.h),
// or nullopt if the budget leaves it too little.
std::optional<Plan> automatic_plan(const Model& model, const Profile& profile,
                                   const MemoryBreakdown& fixed, const PlanRequest& request) {
  if (request.budget_bytes < fixed.fixed()) return std::nullopt;
  const uint64_t weight_bytes = request.budget_bytes - fixed.fixed();
  if (weight_bytes < min_streaming_bytes(model, request.policy)) return std::nullopt;
  StreamPlan stream = plan_streaming(model, weight_bytes, request.policy);
  stream.budget_bytes = request.budget_bytes;
  return plan_of_stream(model, profile, stream, request,
                        fmt::format("the runtime's automatic plan ({} policy)",
                                    residency_policy_name(request.policy)));
}

}  // namespace

void check_profile_matches(const Profile& profile, const Model& model) {
  const std::string diff = describe_difference(profile.model, identify_model(model.file()));
  if (!diff.empty()) fail("the profile was made for another model: {}", diff);
  const auto& steps = model.schedule().steps;
  if (profile.step_names.size() != steps.size())
    fail("the profile has {} steps, the model's schedule {}", profile.step_names.size(),
         steps.size());
  for (size_t s = 0; s < steps.size(); ++s)
    if (profile.step_names[s] != steps[s].name())
      fail("the profile's step {} is '{}', the model's '{}'", s, profile.step_names[s],
           steps[s].name());
}

uint64_t minimum_budget(const Model& model, const Profile& profile, const PlanRequest& request) {
  const MemoryBreakdown fixed =
      fixed_memory_for(model, profile, run_shape(model, profile, request));
  const std::vector<Matrix> matrices = schedule_matrices(model);
  // Two slots (one in use, one filling) at the least, with nothing kept, or
  // everything kept and no slots, whichever is smaller.
  uint64_t least =
      fixed.fixed() + weight_memory(resident_rows(model, matrices, all_rows(matrices)), 0, 0);
  for (bool cap_head : {false, true}) {
    const Shape two_slots{ResidencyPolicy::Balanced, FlexibleOrder::AttentionFirst, 2, cap_head};
    least = std::min(least, candidate_at(model, matrices, fixed, two_slots, 0).total);
  }
  return least;
}

Plan make_plan(const Model& model, const Profile& profile, const PlanRequest& request) {
  check_profile_matches(profile, model);
  Plan p = plan_skeleton(model, profile, request);
  const MemoryBreakdown fixed = fixed_memory_for(model, profile, p.shape);
  const std::vector<Matrix> matrices = schedule_matrices(model);
  uint64_t matrix_total = 0;
  for (const Matrix& m : matrices) matrix_total += m.info->nbytes;

  const std::vector<ResidentRows> everything = resident_rows(model, matrices, all_rows(matrices));
  if (fixed.fixed() + weight_memory(everything, 0, 0) <= request.budget_bytes) {
    // Everything fits: no streaming.
    p.resident = everything;
    p.residency_reason = "the whole model fits the budget: every weight resident, nothing streamed";
    predict(model, profile, fixed, p);
    return p;
  }

  std::vector<FlexibleOrder> orders = {FlexibleOrder::AttentionFirst};
  if (request.flexible_order)
    orders = {*request.flexible_order};
  else if (request.policy == ResidencyPolicy::Flexible)
    orders.push_back(FlexibleOrder::FfnFirst);
  std::optional<Plan> best;
  std::map<FlexibleOrder, double> best_by_order;
  for (FlexibleOrder order : orders) {
    for (bool cap_head : {false, true}) {
      for (int32_t n_slots : kSlotCounts) {
        if (n_slots == 2 && best) continue;
        const auto c = best_fit(model, matrices, fixed, {request.policy, order, n_slots, cap_head},
                                matrix_total, request.budget_bytes);
        if (!c) continue;
        PartitionInput in;
        in.parts = &c->parts;
        // Chunks hide their reads under compute slowed by those reads.
        in.compute_ms = &profile.decode_streaming.step_ms;
        // Each step fits one slot, so a step holds one and the rest read ahead.
        const BandwidthPoint read =
            read_setting(profile, static_cast<uint64_t>(n_slots - 1) * c->slot_bytes);
        in.io_ms = [&](uint64_t bytes) { return io_ms(read, bytes); };
        in.slot_bytes = c->slot_bytes;
        Plan trial = p;
        trial.decode.chunks = partition(in, n_slots);
        trial.n_slots = n_slots;
        trial.slot_bytes = c->slot_bytes;
        trial.window = n_slots - 1;
        trial.resident = resident_rows(model, matrices, c->residency.rows_kept);
        trial.residency_reason = c->residency.reason;
        predict(model, profile, fixed, trial);
        const double tps = trial.decode.tokens_per_s();
        best_by_order[order] = std::max(best_by_order[order], tps);
        // Prefer fewer slots unless more are clearly (>1%) faster.
        if (!best || tps > best->decode.tokens_per_s() * 1.01) best = std::move(trial);
      }
    }
  }
  // The runtime's automatic plan is one candidate: the planner never
  // outputs a plan it predicts slower than what `run` does without one
  // (unless the request fixes a flexible order, which the automatic plan
  // chooses by budget).
  std::optional<Plan> automatic;
  if (!request.flexible_order) automatic = automatic_plan(model, profile, fixed, request);
  if (automatic) {
    const double tps = automatic->decode.tokens_per_s();
    if (!best || tps * (1 + kOwnPlanMargin) >= best->decode.tokens_per_s()) {
      if (best)
        automatic->residency_reason += fmt::format(
            ", kept: the planner's own plan is not predicted faster by more than {:.0f}% "
            "(its {:.2f} t/s vs {:.2f}): {}",
            100 * kOwnPlanMargin, best->decode.tokens_per_s(), tps, best->residency_reason);
      best = std::move(automatic);
    } else {
      best->residency_reason +=
          fmt::format("; the runtime's automatic plan predicts {:.2f} t/s", tps);
    }
  }
  if (!best)
    fail(
        "--budget {} bytes is below the minimum of {} bytes this model needs (KV cache and "
        "buffers {}, process {}, two slots for the largest step)",
        request.budget_bytes, minimum_budget(model, profile, request), fixed.forward,
        fixed.process);
  if (best_by_order.size() == 2)
    best->residency_reason += fmt::format(
        "; chosen by simulation: attention first {:.2f} t/s, ffn first {:.2f} t/s",
        best_by_order[FlexibleOrder::AttentionFirst], best_by_order[FlexibleOrder::FfnFirst]);
  return *best;
}

Plan evaluate_stream_plan(const Model& model, const Profile& profile, const StreamPlan& stream,
                          const PlanRequest& request) {
  check_profile_matches(profile, model);
  return plan_of_stream(model, profile, stream, request, "given by another planner");
}

}  // namespace flashslim::planner
