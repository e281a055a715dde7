// Planner on synthetic profiles with known answers: residency policies,
// partitioner, simulator, budget limits, and JSON round trips of profile.json
// and plan.json (schema errors name the key; plans for another model or
// budget are refused).
#include "planner/planner.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "model/model.h"
#include "model/synthetic_model.h"
#include "planner/explain.h"
#include "planner/partitioner.h"
#include "planner/plan.h"
#include "planner/read_bandwidth.h"
#include "planner/residency.h"
#include "planner/simulator.h"
#include "runtime/auto_planner.h"
#include "runtime/streaming_weights.h"
#include "runtime/weight_modes.h"

namespace flashslim::planner {
namespace {

const std::string kOtherModel = std::string(FLASHSLIM_FIXTURES) + "/synth/tiny-llama-Q8_0.gguf";

// An 8-layer Q8_0 model (6.7 MB) whose largest step is a small share of the
// whole, so budgets between "two slots" and "everything resident" exist (the
// 2-layer fixtures are dominated by their tied head).
const std::string& streaming_model() {
  static const std::string path = [] {
    // Per process: ctest runs the test cases of this file in parallel processes.
    const std::string p =
        ::testing::TempDir() + "planner_test_8_layers." + std::to_string(getpid()) + ".gguf";
    SyntheticModelSpec spec;
    spec.preset = find_model_preset("test-tiny");
    spec.preset.n_layer = 8;
    spec.preset.n_ff = 768;
    spec.file_type = ModelFileType::Q8_0;
    write_synthetic_model(spec, p, 1, 2, {});
    return p;
  }();
  return path;
}

// A profile with `step_ms` compute per step and one flat bandwidth for every read.
Profile synthetic_profile(const Model& model, double step_ms, double disk_gb_per_s) {
  Profile p;
  p.model = identify_model(model.file());
  p.threads = 2;
  p.compute_method = "synthetic";
  for (const Step& s : model.schedule().steps) {
    p.step_names.push_back(s.name());
    p.step_weight_bytes.push_back(s.weight_bytes());
  }
  p.decode.batch = 1;
  p.decode.passes = 1;
  p.decode.step_ms.assign(p.step_names.size(), step_ms);
  p.decode_streaming = p.decode;
  PassTiming prefill = p.decode;
  prefill.batch = 32;
  prefill.step_ms.assign(p.step_names.size(), step_ms * 8);
  p.prefill.push_back(prefill);
  p.storage.backend = "synthetic";
  for (uint64_t size : {128ull << 10, 1ull << 20, 8ull << 20})
    for (uint32_t qd : {1u, 8u}) p.storage.curve.push_back({size, qd, disk_gb_per_s});
  p.storage.streaming_read = {1 << 20, 8, disk_gb_per_s};
  p.storage.sustained_read = {1 << 20, 8, 64 << 20, {disk_gb_per_s}};
  p.memory_gb_per_s = 10;
  p.memory_buffer_bytes = 1 << 20;
  p.baseline_rss_bytes = 10 << 20;
  p.machine = {{"cpu_model", "synthetic"}};
  return p;
}

uint64_t matrix_bytes(const Model& model) {
  uint64_t sum = 0;
  for (const Matrix& m : schedule_matrices(model)) sum += m.info->nbytes;
  return sum;
}

PlanRequest request(uint64_t budget, ResidencyPolicy policy = ResidencyPolicy::Balanced) {
  PlanRequest r;
  r.budget_bytes = budget;
  r.policy = policy;
  r.n_ctx = 64;
  r.n_batch = 32;
  r.profile_source = "synthetic";
  return r;
}

// A budget between the minimum and all-resident: `share` of the way.
uint64_t budget_between(const Model& model, const Profile& p, double share) {
  const uint64_t lo = minimum_budget(model, p, request(0));
  const uint64_t hi = lo + matrix_bytes(model);
  return lo + static_cast<uint64_t>(share * (hi - lo));
}

TEST(PlannerResidency, BalancedKeepsTheSameShareOfEveryMatrix) {
  const Model model(streaming_model());
  const auto matrices = schedule_matrices(model);
  const Residency r = choose_residency(matrices, ResidencyPolicy::Balanced,
                                       FlexibleOrder::AttentionFirst, matrix_bytes(model) / 2);
  EXPECT_LE(r.matrix_bytes, matrix_bytes(model) / 2);
  EXPECT_GT(r.matrix_bytes, matrix_bytes(model) / 2 * 0.95);
  const double share0 = double(r.rows_kept[0]) / matrices[0].info->rows();
  for (size_t i = 0; i < matrices.size(); ++i)
    EXPECT_NEAR(double(r.rows_kept[i]) / matrices[i].info->rows(), share0,
                1.0 / matrices[i].info->rows() + 1e-9)
        << matrices[i].info->name;
}

TEST(PlannerResidency, LayersKeepsWholeLayersFromTheFront) {
  const Model model(streaming_model());
  const auto matrices = schedule_matrices(model);
  uint64_t layer0 = 0;
  for (const Matrix& m : matrices)
    if (m.layer == 0) layer0 += m.info->nbytes;
  const Residency r =
      choose_residency(matrices, ResidencyPolicy::Layers, FlexibleOrder::AttentionFirst, layer0);
  for (size_t i = 0; i < matrices.size(); ++i)
    EXPECT_EQ(r.rows_kept[i], matrices[i].layer == 0 ? matrices[i].info->rows() : 0)
        << matrices[i].info->name;
  EXPECT_EQ(r.matrix_bytes, layer0);
}

TEST(PlannerResidency, FlexibleKeepsItsFirstClassBeforeTheOther) {
  const Model model(streaming_model());
  const auto matrices = schedule_matrices(model);
  uint64_t attention = 0;
  for (const Matrix& m : matrices)
    if (m.attention) attention += m.info->nbytes;
  const Residency r = choose_residency(matrices, ResidencyPolicy::Flexible,
                                       FlexibleOrder::AttentionFirst, attention);
  for (size_t i = 0; i < matrices.size(); ++i)
    EXPECT_EQ(r.rows_kept[i], matrices[i].attention ? matrices[i].info->rows() : 0)
        << matrices[i].info->name;
  const Residency ffn =
      choose_residency(matrices, ResidencyPolicy::Flexible, FlexibleOrder::FfnFirst, attention);
  for (size_t i = 0; i < matrices.size(); ++i) {
    if (matrices[i].attention) {
      EXPECT_EQ(ffn.rows_kept[i], 0) << matrices[i].info->name;
    }
  }
  EXPECT_EQ(parse_flexible_order("ffn-first"), FlexibleOrder::FfnFirst);
  EXPECT_EQ(parse_flexible_order("attention-first"), FlexibleOrder::AttentionFirst);
  EXPECT_THROW(parse_flexible_order("ffn"), Error);
}

TEST(PlannerProfile, ReadRateIsTheMedianOfPointsWithAboutTheSameBytesInFlight) {
  Profile p;
  // 1 MiB x 8 itself disturbed by another reader; its neighbours by bytes in
  // flight (4-16 MiB, sizes 256 KiB-4 MiB) are not.
  p.storage.curve = {{1 << 20, 8, 0.1}, {512 << 10, 16, 1.0}, {2 << 20, 4, 1.2},
                     {4 << 20, 2, 0.9}, {1 << 20, 1, 0.3},    {128 << 10, 64, 5.0},
                     {8 << 20, 1, 5.0}, {1 << 20, 32, 5.0}};
  EXPECT_DOUBLE_EQ(p.read_at(1 << 20, 8).gb_per_s, 0.95);  // median of 0.1, 1.0, 1.2, 0.9
  const BandwidthPoint one = p.read_at(1 << 20, 1);        // 0.5-2 MiB in flight: 0.3 only
  EXPECT_EQ(one.read_bytes, 1u << 20);
  EXPECT_EQ(one.queue_depth, 1u);
  EXPECT_DOUBLE_EQ(one.gb_per_s, 0.3);
  EXPECT_THROW(p.read_at(64 << 10, 1), Error);
}

TEST(PlannerProfile, ExpectedReadRateIsTheSustainedRateScaledByTheCurve) {
  Profile p;
  p.storage.curve = {{1 << 20, 8, 2.5}, {1 << 20, 4, 2.0}, {1 << 20, 1, 1.0}};
  p.storage.sustained_read = {1 << 20, 8, 512 << 20, {2.3, 2.1, 2.2}};  // slowest 2.1
  EXPECT_DOUBLE_EQ(p.expected_read_at(1 << 20, 8).gb_per_s, 2.1);
  // 1 MiB x 4 (neighbours 4 and 8: median 2.25) against 1 MiB x 8 (4 and 8: 2.25).
  EXPECT_DOUBLE_EQ(p.expected_read_at(1 << 20, 4).gb_per_s, 2.1);
  // 1 MiB x 1 (1.0 alone) against 2.25: the sustained rate scaled by 1.0 / 2.25.
  EXPECT_DOUBLE_EQ(p.expected_read_at(1 << 20, 1).gb_per_s, 2.1 / 2.25);
}

TEST(PlannerSimulator, KnownAnswers) {
  // Two chunks of 10 ms reads, four 1 ms steps: disk bound at 20 ms per pass.
  std::vector<Chunk> chunks(2);
  chunks[0] = {0, 0, 1, {}, 1, 0};
  chunks[1] = {1, 2, 3, {}, 1, 1};
  SimulationInput in;
  in.chunks = &chunks;
  in.chunk_io_ms = {10, 10};
  in.step_ms = {1, 1, 1, 1};
  in.n_slots = 2;
  in.window = 1;
  SimulationResult r = simulate(in);
  EXPECT_NEAR(r.pass_ms, 20, 1e-9);
  EXPECT_NEAR(r.first_pass_ms, 22,
              1e-9);  // read 0 (10), its steps (2) under read 1, read 1 ends at 20, its steps
  EXPECT_NEAR(r.stall_ms, 16,
              1e-9);  // each chunk's 2 ms of compute hides 2 of its successor's 10 ms
  // Compute bound: reads of 1 ms under 10 ms steps, two slots hide them all.
  in.chunk_io_ms = {1, 1};
  in.step_ms = {10, 10, 10, 10};
  r = simulate(in);
  EXPECT_NEAR(r.pass_ms, 40, 1e-9);
  EXPECT_NEAR(r.stall_ms, 0, 1e-9);
  // One slot: no overlap at all, every read waits for the previous release.
  in.n_slots = 1;
  r = simulate(in);
  EXPECT_NEAR(r.pass_ms, 42, 1e-9);
}

TEST(PlannerSimulator, StepTakingTwoChunks) {
  // Step 1 needs chunks 1 and 2 (a matrix split over two slots): the disk
  // reads all three back to back, 30 ms per pass.
  std::vector<Chunk> chunks(3);
  chunks[0] = {0, 0, 0, {}, 1, 0};
  chunks[1] = {1, 1, 1, {}, 1, 1};
  chunks[2] = {2, 1, 1, {}, 1, 2};
  SimulationInput in;
  in.chunks = &chunks;
  in.chunk_io_ms = {10, 10, 10};
  in.step_ms = {1, 1};
  in.n_slots = 3;
  in.window = 2;
  const SimulationResult r = simulate(in);
  EXPECT_NEAR(r.pass_ms, 30, 1e-9);
  EXPECT_NEAR(r.chunks[1].t_compute_ms, 0, 1e-9);  // step 1's time goes to its last chunk
  EXPECT_NEAR(r.chunks[2].t_compute_ms, 1, 1e-9);
}

TEST(PlannerPartitioner, MergesStepsOnlyWhenTheirReadHidesUnderCompute) {
  const Model model(streaming_model());
  const auto matrices = schedule_matrices(model);
  const Residency none =
      choose_residency(matrices, ResidencyPolicy::Balanced, FlexibleOrder::AttentionFirst, 0);
  const auto parts = streamed_parts(model, matrices, none);
  PartitionInput in;
  in.parts = &parts;
  in.slot_bytes = 64ull << 20;
  const std::vector<double> slow(parts.size(), 1000.0), fast(parts.size(), 1e-6);
  in.io_ms = [](uint64_t bytes) { return bytes * 1e-6; };  // 1 GB/s
  in.compute_ms = &fast;
  const auto io_bound = partition(in, 2);
  EXPECT_EQ(io_bound.size(), parts.size());  // every step its own chunk
  in.compute_ms = &slow;
  const auto compute_bound = partition(in, 2);
  EXPECT_LT(compute_bound.size(), io_bound.size());
  for (const Chunk& c : compute_bound) {
    EXPECT_LE(chunk_read_bytes(c.parts), in.slot_bytes);
    EXPECT_EQ(c.slot, c.id % 2);
  }
  in.slot_bytes = min_slot_bytes(parts) - 1;
  EXPECT_THROW(partition(in, 2), Error);
}

TEST(Planner, TwiceFasterDiskHalvesStreamedTime) {
  const Model model(streaming_model());
  const Profile slow = synthetic_profile(model, 1e-4, 0.5);
  const Profile fast = synthetic_profile(model, 1e-4, 1.0);
  const uint64_t budget = budget_between(model, slow, 0.3);
  const Plan a = make_plan(model, slow, request(budget));
  const Plan b = make_plan(model, fast, request(budget));
  ASSERT_GT(a.streamed_bytes_per_token, 0u);
  EXPECT_EQ(a.streamed_bytes_per_token, b.streamed_bytes_per_token);
  EXPECT_NEAR(b.decode.timeline.io_ms, a.decode.timeline.io_ms / 2, 1e-9);
  EXPECT_NEAR(b.decode.timeline.pass_ms / a.decode.timeline.pass_ms, 0.5, 0.02);
}

TEST(Planner, BudgetBelowTheMinimumIsRejectedWithTheMinimum) {
  const Model model(streaming_model());
  const Profile p = synthetic_profile(model, 0.01, 1.0);
  const uint64_t minimum = minimum_budget(model, p, request(0));
  EXPECT_NO_THROW(make_plan(model, p, request(minimum)));
  try {
    make_plan(model, p, request(minimum - 1));
    FAIL() << "a budget below the minimum was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(std::to_string(minimum)), std::string::npos) << e.what();
  }
}

TEST(Planner, PlansFitTheBudgetAndTheRuntimeAcceptsThem) {
  const Model model(streaming_model());
  const Profile p = synthetic_profile(model, 0.01, 1.0);
  for (ResidencyPolicy policy :
       {ResidencyPolicy::Balanced, ResidencyPolicy::Flexible, ResidencyPolicy::Layers}) {
    for (double share : {0.0, 0.25, 0.5, 0.75, 1.0}) {
      const uint64_t budget = budget_between(model, p, share);
      const Plan plan = make_plan(model, p, request(budget, policy));
      SCOPED_TRACE(fmt::format("{} at {}", residency_policy_name(policy), share));
      EXPECT_LE(plan.memory.total(), budget);
      // The runtime's accounting of the same plan (resident rows and slots).
      const MemoryUse& m = plan.memory;
      EXPECT_EQ(m.resident_weights + m.slots, plan_memory_bytes(to_stream_plan(plan)));
      EXPECT_LE(m.resident_weights, m.total());
      for (const Chunk& c : plan.decode.chunks)
        EXPECT_LE(chunk_read_bytes(c.parts), plan.slot_bytes);
      EXPECT_NO_THROW(validate_stream_plan(to_stream_plan(plan), model));
      EXPECT_GT(plan.decode.tokens_per_s(), 0);
      EXPECT_LE(plan.decode.tokens_per_s(), plan.bound_tokens_per_s * 1.0001);
    }
  }
}

TEST(Planner, MoreBudgetNeverPredictsSlowerDecode) {
  const Model model(streaming_model());
  const Profile p = synthetic_profile(model, 0.01, 1.0);
  double previous = 0;
  for (double share : {0.0, 0.2, 0.4, 0.6, 0.8, 1.0}) {
    const Plan plan = make_plan(model, p, request(budget_between(model, p, share)));
    EXPECT_GE(plan.decode.tokens_per_s(), previous * 0.999) << share;
    previous = plan.decode.tokens_per_s();
  }
}

TEST(Planner, NeverPredictsSlowerThanTheRuntimesAutomaticPlan) {
  const Model model(streaming_model());
  // A slow disk and a fast one: the automatic plan wins some of these.
  for (double disk_gb_per_s : {0.05, 1.0}) {
    const Profile p = synthetic_profile(model, 0.01, disk_gb_per_s);
    for (ResidencyPolicy policy :
         {ResidencyPolicy::Balanced, ResidencyPolicy::Flexible, ResidencyPolicy::Layers}) {
      for (double share : {0.1, 0.25, 0.5, 0.75}) {
        const PlanRequest r = request(budget_between(model, p, share), policy);
        const Plan plan = make_plan(model, p, r);
        const MemoryUse& m = plan.memory;
        const uint64_t fixed = m.forward + m.scratch + m.overhead;
        if (r.budget_bytes - fixed < min_streaming_bytes(model, policy)) continue;
        StreamPlan automatic = plan_streaming(model, r.budget_bytes - fixed, policy);
        automatic.budget_bytes = r.budget_bytes;
        SCOPED_TRACE(
            fmt::format("{} GB/s, {} at {}", disk_gb_per_s, residency_policy_name(policy), share));
        const double automatic_tps =
            evaluate_stream_plan(model, p, automatic, r).decode.tokens_per_s();
        EXPECT_GE(plan.decode.tokens_per_s(), automatic_tps);
        EXPECT_NE(plan.residency_reason.find("automatic plan"), std::string::npos);
        // Its own plan only when predicted faster by more than the model's error.
        if (plan.decode.chunks.size() != automatic.chunks.size() ||
            plan.slot_bytes != automatic.slot_bytes || plan.n_slots != automatic.n_slots) {
          EXPECT_GT(plan.decode.tokens_per_s(), automatic_tps * 1.15);
        }
      }
    }
  }
}

// What a run shaped like request() holds besides the weights, in a process
// whose baseline_rss_bytes() is `baseline_bytes`.
MemoryBreakdown run_fixed_memory(const Model& model, uint64_t baseline_bytes) {
  ForwardOptions fo;
  fo.n_ctx = 64;
  fo.n_batch = 32;
  fo.kv_type = parse_kv_type("f16");
  return fixed_memory(model, fo, 2, 1, baseline_bytes);
}

// Resident bytes of the plan an automatic run makes at `budget` (plan_streaming).
uint64_t automatic_resident_bytes(const Model& model, uint64_t budget, const MemoryBreakdown& fixed,
                                  ResidencyPolicy policy) {
  return chunk_read_bytes(plan_streaming(model, budget - fixed.fixed(), policy).resident);
}

// A plan assumes the profile's process baseline and nothing more, so a planned
// run keeps what an automatic run keeps at the same budget in a process that
// measures the same baseline (`profile` and `run` measure it at the same point).
// Any allowance for baselines differing between processes would show here as
// residency the planned run gives up.
TEST(Planner, PlannedRunsKeepWhatAutomaticRunsKeepAtTheSameBudget) {
  const Model model(streaming_model());
  // Compute-bound (1 ms steps, reads hidden under them): the planner's own
  // plans are not predicted faster by 15%, so it outputs the automatic plan,
  // the one the runtime makes itself.
  const Profile p = synthetic_profile(model, 1.0, 1.0);
  const MemoryBreakdown fixed = run_fixed_memory(model, p.baseline_rss_bytes);
  for (ResidencyPolicy policy :
       {ResidencyPolicy::Balanced, ResidencyPolicy::Flexible, ResidencyPolicy::Layers}) {
    // Budgets where the runtime streams: `share` of the way from its
    // minimum to keeping every matrix.
    const uint64_t least = fixed.fixed() + min_streaming_bytes(model, policy);
    const uint64_t all = fixed.fixed() + matrix_bytes(model);
    for (double share : {0.25, 0.5, 0.75}) {
      const uint64_t budget =
          least + static_cast<uint64_t>(share * static_cast<double>(all - least));
      const Plan plan = make_plan(model, p, request(budget, policy));
      SCOPED_TRACE(fmt::format("{} at {}", residency_policy_name(policy), share));
      ASSERT_EQ(plan.residency_reason.rfind("the runtime's automatic plan", 0), 0u)
          << plan.residency_reason;
      EXPECT_EQ(plan.memory.overhead, fixed.process);
      EXPECT_EQ(plan.memory.resident_weights,
                automatic_resident_bytes(model, budget, fixed, policy));
    }
  }
}

// A run measures its own baseline; up to kBaselineToleranceBytes above the
// profile's, the excess comes out of the margin and the plan runs as made.
TEST(Planner, RunsAcceptAPlanWhileTheirBaselineIsWithinTheTolerance) {
  const Model model(streaming_model());
  const Profile p = synthetic_profile(model, 0.01, 0.05);
  const Plan plan = make_plan(model, p, request(budget_between(model, p, 0.5)));
  WeightOptions o;
  o.mode = WeightMode::Stream;
  o.mlock = false;
  o.planned = to_planned_stream(plan);
  // The budget the plan fills exactly: no slack to hide an excess in.
  ASSERT_EQ(
      run_fixed_memory(model, p.baseline_rss_bytes).fixed() + plan_memory_bytes(o.planned->plan),
      plan.memory.total());
  o.budget = SizeSpec{false, plan.memory.total(), 0};
  const uint64_t highest = p.baseline_rss_bytes + kBaselineToleranceBytes;
  EXPECT_NO_THROW(open_weights(model, o, run_fixed_memory(model, highest)));
  try {
    open_weights(model, o, run_fixed_memory(model, highest + 4096));
    FAIL() << "a run whose baseline exceeds the plan's by more than the tolerance ran it";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("more tolerated"), std::string::npos) << e.what();
  }
}

TEST(Planner, ComputeSlowsByTheShareOfThePassTheDiskIsBusy) {
  const Model model(streaming_model());
  // Compute-bound: 1 ms steps, a disk fast enough to hide every read.
  Profile p = synthetic_profile(model, 1.0, 1.0);
  const PlanRequest r = request(budget_between(model, p, 0.5));
  const MemoryUse fixed_use = make_plan(model, p, r).memory;
  StreamPlan automatic = plan_streaming(
      model, r.budget_bytes - (fixed_use.forward + fixed_use.scratch + fixed_use.overhead),
      r.policy);
  automatic.budget_bytes = r.budget_bytes;
  const Plan same = evaluate_stream_plan(model, p, automatic, r);
  const double resident_ms = p.decode.total_ms();
  EXPECT_NEAR(same.decode.timeline.pass_ms, resident_ms, 1e-6);
  // Steps twice as slow while streaming: slowed by the busy share b = io / pass,
  // so pass = R (1 + b), i.e. pass = (R + sqrt(R^2 + 4 io R)) / 2.
  for (double& ms : p.decode_streaming.step_ms) ms *= 2;
  p.decode_streaming.outside_steps_ms *= 2;
  const Plan slowed = evaluate_stream_plan(model, p, automatic, r);
  const SimulationResult& t = slowed.decode.timeline;
  ASSERT_GT(t.io_ms, 0.1 * resident_ms);
  ASSERT_LT(t.io_ms, 0.9 * resident_ms);
  ASSERT_LT(t.stall_ms, 1e-6);
  const double expected =
      (resident_ms + std::sqrt(resident_ms * resident_ms + 4 * t.io_ms * resident_ms)) / 2;
  EXPECT_NEAR(t.pass_ms, expected, 0.005 * expected);
  // Nothing streamed: the resident timing alone.
  const Plan resident = make_plan(model, p, request(budget_between(model, p, 1.0) * 2));
  ASSERT_EQ(resident.streamed_bytes_per_token, 0u);
  EXPECT_NEAR(resident.decode.timeline.pass_ms, resident_ms, 1e-6);
}

TEST(Planner, ReadsAreTheRuntimesWithNoMoreInFlightThanTheReadAheadSlots) {
  const Model model(streaming_model());
  const Profile p = synthetic_profile(model, 0.01, 1.0);
  const PlanRequest r = request(budget_between(model, p, 0.3));
  StreamPlan stream = to_stream_plan(make_plan(model, p, r));
  ASSERT_FALSE(stream.chunks.empty());
  std::vector<int32_t> held(model.schedule().steps.size(), 0);
  for (const Chunk& c : stream.chunks)
    for (int32_t s = c.first_step; s <= c.last_step; ++s) ++held[s];
  const int32_t most_held = *std::max_element(held.begin(), held.end());
  const StreamingOptions runtime;
  // Slots beyond those a step holds, x slot bytes -> the deepest power of two
  // up to the runtime's queue depth whose 1 MiB reads fit.
  const struct {
    int32_t read_ahead_slots;
    uint64_t slot_bytes;
    uint32_t depth;
  } cases[] = {{1, 512 << 10, 1},
               {1, 3 << 20, 2},
               {2, 3 << 20, 4},
               {5, 3 << 20, 8},
               {6, 3 << 20, std::min(16u, runtime.queue_depth)}};
  for (const auto& c : cases) {
    stream.n_slots = most_held + c.read_ahead_slots;
    stream.slot_bytes = c.slot_bytes;
    const Plan plan = evaluate_stream_plan(model, p, stream, r);
    EXPECT_EQ(plan.read.read_bytes, runtime.max_read_bytes);
    EXPECT_EQ(plan.read.queue_depth, c.depth) << c.read_ahead_slots << " x " << c.slot_bytes;
  }
}

TEST(Planner, EvaluatingItsOwnStreamPlanGivesTheSamePrediction) {
  const Model model(streaming_model());
  const Profile p = synthetic_profile(model, 0.01, 1.0);
  const PlanRequest r = request(budget_between(model, p, 0.5));
  const Plan plan = make_plan(model, p, r);
  const Plan again = evaluate_stream_plan(model, p, to_stream_plan(plan), r);
  EXPECT_DOUBLE_EQ(again.decode.tokens_per_s(), plan.decode.tokens_per_s());
  EXPECT_EQ(again.memory.total(), plan.memory.total());
}

TEST(PlannerJson, ProfileRoundTrips) {
  const Model model(streaming_model());
  const Profile p = synthetic_profile(model, 0.25, 1.5);
  const nlohmann::json j = to_json(p);
  EXPECT_EQ(to_json(profile_from_json(j, "profile.json")), j);
}

TEST(PlannerJson, PlanRoundTripsAndExplains) {
  const Model model(streaming_model());
  const Profile p = synthetic_profile(model, 0.01, 1.0);
  const PlanRequest r = request(budget_between(model, p, 0.5), ResidencyPolicy::Flexible);
  const Plan plan = make_plan(model, p, r);
  const nlohmann::json j = to_json(plan);
  EXPECT_EQ(to_json(plan_from_json(j, "plan.json")), j);
  EXPECT_NE(plan.residency_reason.find("attention first"), std::string::npos)
      << plan.residency_reason;
  const std::string text = explain_plan(plan, model, p, r);
  EXPECT_NE(text.find("binding resource"), std::string::npos) << text;
  EXPECT_NE(text.find("+50%"), std::string::npos) << text;
}

TEST(PlannerJson, SchemaErrorsNameTheKey) {
  const Model model(streaming_model());
  const Profile p = synthetic_profile(model, 0.01, 1.0);
  const nlohmann::json good = to_json(make_plan(model, p, request(budget_between(model, p, 0.5))));
  auto error_of = [](const nlohmann::json& j) {
    try {
      plan_from_json(j, "plan.json");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  nlohmann::json j = good;
  j.erase("budget_bytes");
  EXPECT_EQ(error_of(j), "plan.json: key 'budget_bytes': missing");
  j = good;
  j["cmt"]["decode"]["chunks"][0]["slot"] = "zero";
  EXPECT_NE(error_of(j).find("'cmt.decode.chunks[0].slot'"), std::string::npos) << error_of(j);
  j = good;
  j["format_version"] = 99;
  EXPECT_NE(error_of(j).find("version 99"), std::string::npos) << error_of(j);
  const auto profile_error = [](const nlohmann::json& value) {
    try {
      profile_from_json(value, "profile.json");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  nlohmann::json profile = to_json(p);
  profile["storage"]["curve"][1].erase("gb_per_s");
  EXPECT_EQ(profile_error(profile), "profile.json: key 'storage.curve[1].gb_per_s': missing");
  // A version 2 profile has no sustained read; an empty or negative sample is refused.
  profile = to_json(p);
  profile["storage"].erase("sustained_read");
  EXPECT_EQ(profile_error(profile), "profile.json: key 'storage.sustained_read': missing");
  profile = to_json(p);
  profile["storage"]["sustained_read"]["samples_gb_per_s"] = nlohmann::json::array();
  EXPECT_NE(profile_error(profile).find("'storage.sustained_read.samples_gb_per_s'"),
            std::string::npos);
  profile["storage"]["sustained_read"]["samples_gb_per_s"] = {2.0, -1.0};
  EXPECT_NE(profile_error(profile).find("'storage.sustained_read.samples_gb_per_s[1]'"),
            std::string::npos);
}

TEST(PlannerJson, PlansForAnotherModelOrBudgetAreRefused) {
  const Model model(streaming_model());
  const Model other(kOtherModel);
  const Profile p = synthetic_profile(model, 0.01, 1.0);
  const uint64_t budget = budget_between(model, p, 0.5);
  const Plan plan = make_plan(model, p, request(budget));
  EXPECT_NO_THROW(
      check_plan_matches(plan, "plan.json", identify_model(model.file()), budget, plan.shape));
  try {
    check_plan_matches(plan, "plan.json", identify_model(other.file()), budget, plan.shape);
    FAIL() << "a plan for another model was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("another model: file size"), std::string::npos)
        << e.what();
  }
  try {
    check_plan_matches(plan, "plan.json", identify_model(model.file()), budget + 4096, plan.shape);
    FAIL() << "a plan for another budget was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(std::to_string(budget)), std::string::npos) << e.what();
  }
  EXPECT_THROW(make_plan(other, p, request(budget)), Error);  // profile of another model
}

TEST(PlannerReadWindows, SequentialReadsWrapAndListedReadsAreReadEachWindow) {
  const Model model(kOtherModel);
  const auto file = storage::open_storage(kOtherModel, storage::StorageKind::UringDirect);
  // Sequential: 5 windows of 3 reads of 1 MiB over ~11 MB of data wrap around once.
  ReadWindows shape = data_section_reads(*file, model.file().data_offset);
  shape.read_bytes = 1 << 20;
  shape.depth = 4;
  shape.reads_per_window = 3;
  shape.windows = 5;
  uint64_t start = shape.begin;
  const std::vector<uint64_t> ns = time_read_windows(*file, shape, start);
  ASSERT_EQ(ns.size(), 5u);
  for (uint64_t t : ns) EXPECT_GT(t, 0u);
  const uint64_t reads_per_pass = (shape.end - shape.begin) / shape.read_bytes;
  ASSERT_LT(reads_per_pass, 15u);
  EXPECT_EQ(start, shape.begin + (15 % reads_per_pass) * shape.read_bytes);

  // Listed: every window reads its list once, gaps and mixed sizes as a plan's chunks.
  const uint64_t base = shape.begin;
  const std::vector<FileRead> list = {
      {base, 1 << 20}, {base + (1 << 20), 192 << 10}, {base + (3 << 20), 4096}};
  const std::vector<TimedWindow> windows = time_listed_windows(*file, list, 2, 6);
  ASSERT_EQ(windows.size(), 6u);
  for (const TimedWindow& w : windows) {
    EXPECT_GT(w.ns, 0u);
    EXPECT_EQ(w.reads, 3u);
    EXPECT_EQ(w.bytes, (1u << 20) + (192u << 10) + 4096u);
  }
  EXPECT_THROW(time_listed_windows(*file, {}, 2, 6), Error);
  EXPECT_THROW(time_listed_windows(*file, list, 0, 6), Error);
  const std::vector<FileRead> empty_read = {{base, 0}};
  EXPECT_THROW(time_listed_windows(*file, empty_read, 2, 6), Error);
}

}  // namespace
}  // namespace flashslim::planner
