// The streaming runtime: every mode and plan gives bitwise the logits of
// resident mode; budgets below the minimum are refused; I/O errors end in
// errors naming the tensor and offset, with no thread left behind; slot
// states and plan rules are enforced.
#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <set>

#include "runtime/auto_planner.h"
#include "runtime/read_layout.h"
#include "runtime/slot_pool.h"
#include "runtime/streaming_weights.h"
#include "storage/fault_injecting_storage.h"
#include "test_support.h"

namespace flashslim::test {
namespace {

const char* const kFixtures[] = {
    "aidreams260K/aidreams260K-f32.gguf",
    "aidreams260K/aidreams260K-Q8_0-mixed.gguf",
    "synth/tiny-llama-Q4_K_M.gguf",
    "synth/tiny-qwen2-Q8_0.gguf",
};

// A prompt batch of 5 tokens, then 3 single-token passes: prefill and decode,
// and a cycle across the token boundary. Returns all logits, concatenated.
std::vector<float> run_logits(const Model& model, WeightAccess& weights) {
  const std::vector<int32_t> prompt = {1, 7, 42, 3, 99};
  const std::vector<int32_t> decode = {5, 250, 17};
  ForwardOptions fo;
  fo.n_ctx = 16;
  fo.n_batch = static_cast<int32_t>(prompt.size());
  fo.kv_type = KvType::F32;
  ThreadPool pool(2);
  Forward forward(model, weights, pool, fo);
  const size_t n_vocab = model.hparams().n_vocab;
  std::vector<float> all(prompt.size() * n_vocab);
  forward.eval(prompt, all, true);
  std::vector<float> step(n_vocab);
  for (int32_t id : decode) {
    forward.eval({&id, 1}, step, false);
    all.insert(all.end(), step.begin(), step.end());
  }
  return all;
}

std::vector<float> resident_logits(const Model& model) {
  OpenedWeights w = open_weights(model, WeightMode::Resident);
  return run_logits(model, *w.access);
}

void expect_bitwise_equal(const std::vector<float>& a, const std::vector<float>& b) {
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);
}

std::unique_ptr<storage::Storage> direct_storage(const Model& model) {
  return storage::open_storage(model.file().path, storage::StorageKind::UringDirect);
}

uint64_t matrix_bytes(const Model& model) {
  uint64_t sum = 0;
  for (const Step& s : model.schedule().steps)
    for (const gguf::TensorInfo* t : s.tensors)
      if (t && t->n_dims == 2) sum += t->nbytes;
  return sum;
}

// A plan that cuts every matrix in three: the first third resident, the other
// thirds in two chunks per step, each step holding both; `n_slots` of them.
StreamPlan fragmented_plan(const Model& model, int32_t n_slots, int32_t window) {
  StreamPlan plan;
  const auto& steps = model.schedule().steps;
  std::set<std::string> seen;
  for (size_t s = 0; s < steps.size(); ++s) {
    Chunk halves[2];
    for (const gguf::TensorInfo* t : steps[s].tensors) {
      if (!t || !seen.insert(t->name).second) continue;
      const int64_t rows = t->rows();
      const uint64_t rb = t->row_bytes();
      if (rows < 3) {
        plan.resident.push_back({t->name, 0, rows, t->offset, t->nbytes});
        continue;
      }
      const int64_t cut[4] = {0, rows / 3, 2 * rows / 3, rows};
      plan.resident.push_back({t->name, 0, cut[1], t->offset, cut[1] * rb});
      for (int h = 0; h < 2; ++h)
        halves[h].parts.push_back({t->name, cut[h + 1], cut[h + 2], t->offset + cut[h + 1] * rb,
                                   (cut[h + 2] - cut[h + 1]) * rb});
    }
    for (Chunk& c : halves) {
      if (c.parts.empty()) continue;
      c.id = static_cast<int32_t>(plan.chunks.size());
      c.first_step = c.last_step = static_cast<int32_t>(s);
      for (const auto& p : c.parts) c.bytes += p.bytes;
      plan.slot_bytes = std::max(plan.slot_bytes, chunk_read_bytes(c.parts));
      plan.chunks.push_back(c);
    }
  }
  plan.n_slots = n_slots;
  plan.window = window;
  for (Chunk& c : plan.chunks) c.slot = c.id % n_slots;
  return plan;
}

class StreamFixture : public ::testing::TestWithParam<const char*> {};

TEST_P(StreamFixture, EveryModePlanAndPolicyGivesResidentLogits) {
  const Model model(fixture(GetParam()));
  const std::vector<float> reference = resident_logits(model);
  {
    OpenedWeights w = open_weights(model, WeightMode::Mmap);
    expect_bitwise_equal(run_logits(model, *w.access), reference);
  }
  const auto storage = direct_storage(model);
  for (ResidencyPolicy policy :
       {ResidencyPolicy::Balanced, ResidencyPolicy::Flexible, ResidencyPolicy::Layers}) {
    const uint64_t min = min_streaming_bytes(model, policy);
    const uint64_t full = matrix_bytes(model);
    // From the minimum (tiny slot pool, head partly resident) to everything resident.
    for (uint64_t weight_bytes : {min, min + full / 4, min + full / 2, min + full}) {
      const StreamPlan plan = plan_streaming(model, weight_bytes, policy);
      EXPECT_LE(plan_memory_bytes(plan), weight_bytes);
      for (bool prefetch : {false, true}) {
        SCOPED_TRACE(fmt::format("{} {} bytes, {}", residency_policy_name(policy), weight_bytes,
                                 prefetch ? "stream" : "sync"));
        StreamingOptions so;
        so.prefetch = prefetch;
        StreamingWeights w(model, *storage, plan, so);
        expect_bitwise_equal(run_logits(model, w), reference);
        if (!plan.chunks.empty()) {
          EXPECT_GT(w.stats().chunks_loaded, 0u);
        }
      }
    }
  }
}

TEST_P(StreamFixture, RowSplitsAcrossChunksAndTinySlotPools) {
  const Model model(fixture(GetParam()));
  const std::vector<float> reference = resident_logits(model);
  const auto storage = direct_storage(model);
  // Two slots: each step holds both, so nothing is read ahead; then more.
  for (auto [slots, window] :
       {std::pair{2, 0}, std::pair{2, 1}, std::pair{3, 2}, std::pair{5, 1}}) {
    const StreamPlan plan = fragmented_plan(model, slots, window);
    for (bool prefetch : {false, true}) {
      SCOPED_TRACE(
          fmt::format("{} slots, window {}, {}", slots, window, prefetch ? "stream" : "sync"));
      StreamingOptions so;
      so.prefetch = prefetch;
      so.max_read_bytes = 4096;  // many reads per chunk, several in flight
      StreamingWeights w(model, *storage, plan, so);
      expect_bitwise_equal(run_logits(model, w), reference);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, StreamFixture, ::testing::ValuesIn(kFixtures));

TEST(StreamBudget, BelowTheMinimumIsRefusedWithTheMinimum) {
  const Model model(fixture("synth/tiny-llama-Q4_K_M.gguf"));
  MemoryBreakdown fixed;
  fixed.process = 10 << 20;
  for (WeightMode mode :
       {WeightMode::Stream, WeightMode::Sync, WeightMode::Resident, WeightMode::Auto}) {
    WeightOptions o;
    o.mode = mode;
    o.budget = parse_size_spec("11M");
    try {
      open_weights(model, o, fixed);
      ADD_FAILURE() << weight_mode_name(mode) << " accepted a budget below the minimum";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("below the minimum of "), std::string::npos) << e.what();
    }
  }
  // Exactly the minimum: streaming runs, and the accounting stays within the budget.
  const uint64_t minimum = fixed.fixed() + min_streaming_bytes(model, ResidencyPolicy::Balanced);
  WeightOptions o;
  o.mode = WeightMode::Stream;
  o.budget = SizeSpec{false, minimum, 0};
  o.mlock = false;
  OpenedWeights w = open_weights(model, o, fixed);
  EXPECT_EQ(w.mode, WeightMode::Stream);
  EXPECT_LE(w.memory.total(), minimum);
  // auto: resident when the whole file fits the budget, else stream (which, for
  // this tiny model, needs more than the file: three 1 MiB slots).
  o.mode = WeightMode::Auto;
  o.budget = SizeSpec{false, fixed.fixed() + model.file().file_size, 0};
  EXPECT_EQ(open_weights(model, o, fixed).mode, WeightMode::Resident);
  o.budget = SizeSpec{false, fixed.fixed() + model.file().file_size - 1, 0};
  EXPECT_THROW(open_weights(model, o, fixed), Error);  // streaming needs more than the file here
}

size_t thread_count() {
  size_t n = 0;
  DIR* dir = opendir("/proc/self/task");
  while (dirent* e = readdir(dir)) n += e->d_name[0] != '.';
  closedir(dir);
  return n;
}

// A streamed part in the middle of the plan, and the plan.
std::pair<TensorRows, StreamPlan> middle_part(const Model& model) {
  StreamPlan plan = plan_streaming(model, min_streaming_bytes(model, ResidencyPolicy::Balanced),
                                   ResidencyPolicy::Balanced);
  const Chunk& c = plan.chunks.at(plan.chunks.size() / 2);
  return {c.parts.front(), plan};
}

TEST(StreamFaults, ReadErrorsNameTensorAndOffsetAndLeaveNoThread) {
  const Model model(fixture("synth/tiny-llama-Q4_K_M.gguf"));
  const auto [part, plan] = middle_part(model);
  const uint64_t at = part.file_offset + part.bytes / 2;
  for (const char* kind : {"eio", "short"}) {
    for (bool prefetch : {false, true}) {
      SCOPED_TRACE(fmt::format("{} {}", kind, prefetch ? "stream" : "sync"));
      const size_t threads_before = thread_count();
      {
        storage::FaultInjectingStorage faulty(
            storage::open_storage(model.file().path, storage::StorageKind::Pread),
            storage::parse_fault_rules(fmt::format("{}@{}-{}", kind, at, at + 1)));
        StreamingOptions so;
        so.prefetch = prefetch;
        StreamingWeights w(model, faulty, plan, so);
        try {
          run_logits(model, w);
          ADD_FAILURE() << "no error";
        } catch (const Error& e) {
          const std::string what = e.what();
          EXPECT_NE(what.find(part.tensor), std::string::npos) << what;
          EXPECT_NE(what.find(fmt::format("file offset {}", part.file_offset)), std::string::npos)
              << what;
        }
      }
      EXPECT_EQ(thread_count(), threads_before);
    }
  }
}

TEST(StreamFaults, SlowReadsAreStallsNotErrors) {
  const Model model(fixture("synth/tiny-llama-Q4_K_M.gguf"));
  const std::vector<float> reference = resident_logits(model);
  const auto [part, plan] = middle_part(model);
  storage::FaultInjectingStorage slow(
      storage::open_storage(model.file().path, storage::StorageKind::Pread),
      storage::parse_fault_rules("delay=20000"));
  StreamingWeights w(model, slow, plan, {});
  expect_bitwise_equal(run_logits(model, w), reference);
  const WeightStats s = w.stats();
  EXPECT_GT(s.stalls, 0u);
  EXPECT_GT(s.stall_ns, 0u);
  EXPECT_GT(s.io_busy_ns, 20'000'000u);  // at least one 20 ms read in flight
}

TEST(StreamFaults, FileTruncatedDuringTheRun) {
  const Model original(fixture("synth/tiny-llama-Q4_K_M.gguf"));
  // Per process: the same test of another build (sanitizers, another engineer's) may run
  // at the same time, and its truncate would cut this copy short.
  const std::string copy =
      ::testing::TempDir() + "/truncated-" + std::to_string(::getpid()) + ".gguf";
  {
    std::ifstream in(original.file().path, std::ios::binary);
    std::ofstream out(copy, std::ios::binary);
    out << in.rdbuf();
  }
  const Model model(copy);
  const auto [part, plan] = middle_part(model);
  auto storage = direct_storage(model);
  StreamingWeights w(model, *storage, plan, {});
  ASSERT_EQ(::truncate(copy.c_str(), static_cast<off_t>(part.file_offset)), 0);
  try {
    run_logits(model, w);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    // The chunk being read when the file shrank: its tensors, offsets and the cause.
    const std::string what = e.what();
    EXPECT_NE(what.find(".weight rows "), std::string::npos) << what;
    EXPECT_NE(what.find("at file offset "), std::string::npos) << what;
    EXPECT_NE(what.find("short read"), std::string::npos) << what;
  }
  std::remove(copy.c_str());
}

TEST(SlotPool, StatesMoveOnlyAlongTheCycle) {
  SlotPool pool(2, 8192);
  EXPECT_EQ(pool.state(0), SlotState::Empty);
  EXPECT_THROW(pool.finish_fill(0), Error);
  EXPECT_THROW(pool.take(0, 0), Error);
  EXPECT_THROW(pool.give_back(0), Error);
  pool.start_fill(0, 4);
  EXPECT_THROW(pool.start_fill(0, 5), Error);
  EXPECT_FALSE(pool.ready(0, 4));
  pool.finish_fill(0);
  EXPECT_TRUE(pool.ready(0, 4));
  EXPECT_THROW(pool.take(0, 6), Error);  // another chunk's number
  pool.take(0, 4);
  EXPECT_EQ(pool.state(0), SlotState::InUse);
  EXPECT_THROW(pool.start_fill(0, 6), Error);
  pool.give_back(0);
  EXPECT_EQ(pool.state(0), SlotState::Empty);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(pool.data(1)) % 4096, 0u);
}

TEST(SlotPool, SlotsArePageAlignedDisjointPartsOfOneBuffer) {
  SlotPool pool(3, 5000);  // not a multiple of a page: slots start a page apart
  for (int32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(pool.data(i)) % 4096, 0u);
    std::memset(pool.data(i), 0x10 + i, pool.slot_bytes());
  }
  EXPECT_EQ(pool.data(1) - pool.data(0), 8192);
  for (int32_t i = 0; i < 3; ++i) {  // no slot's bytes overwrote another's
    EXPECT_EQ(pool.data(i)[0], 0x10 + i);
    EXPECT_EQ(pool.data(i)[pool.slot_bytes() - 1], 0x10 + i);
  }
  EXPECT_THROW(pool.data(3), Error);
  EXPECT_THROW(pool.data(-1), Error);
}

TEST(StreamPlanRules, BrokenPlansAreRejected) {
  const Model model(fixture("synth/tiny-llama-Q4_K_M.gguf"));
  const StreamPlan good = fragmented_plan(model, 2, 1);
  validate_stream_plan(good, model);
  auto expect_rejected = [&](StreamPlan p, const char* needle) {
    try {
      validate_stream_plan(p, model);
      ADD_FAILURE() << "accepted; expected " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  StreamPlan p = good;
  p.resident.pop_back();
  expect_rejected(p, "missing");
  p = good;
  p.resident.push_back(p.resident.front());
  expect_rejected(p, "covered twice");
  p = good;
  p.chunks[1].slot = 5;
  expect_rejected(p, "slot ring");
  p = good;
  p.n_slots = 1;
  for (Chunk& c : p.chunks) c.slot = 0;
  expect_rejected(p, "needs 2 chunks at once");
  p = good;
  p.slot_bytes = 4096;
  expect_rejected(p, "bytes of slot");
  p = good;
  p.chunks[0].last_step = p.chunks[0].first_step = 3;
  expect_rejected(p, "read by step");
}

TEST(ReadLayout, WidensMergesAndSplits) {
  // Parts given out of file order; the first two touch after widening.
  const std::vector<TensorRows> parts = {
      {"b", 0, 1, 5000, 100},     // widens to [4096, 8192)
      {"a", 0, 1, 100, 4000},     // widens to [0, 8192): merged with b
      {"c", 0, 1, 20000, 10000},  // [16384, 32768)
  };
  const ReadLayout l = layout_reads(parts, 4096, 8192);
  EXPECT_EQ(l.buffer_bytes, 8192u + 16384u);
  ASSERT_EQ(l.reads.size(), 3u);
  EXPECT_EQ(l.reads[0].file_offset, 0u);
  EXPECT_EQ(l.reads[0].length, 8192u);
  EXPECT_EQ(l.reads[1].file_offset, 16384u);
  EXPECT_EQ(l.reads[1].buffer_offset, 8192u);
  EXPECT_EQ(l.reads[2].file_offset, 24576u);
  EXPECT_EQ(l.part_offsets[0], 5000u);
  EXPECT_EQ(l.part_offsets[1], 100u);
  EXPECT_EQ(l.part_offsets[2], 8192u + (20000u - 16384u));
  EXPECT_EQ(chunk_read_bytes(parts), l.buffer_bytes);
}

}  // namespace
}  // namespace flashslim::test
