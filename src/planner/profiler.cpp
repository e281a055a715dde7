#include "planner/profiler.h"

#include <algorithm>
#include <cstdio>
#include <thread>

#include "bench/provenance.h"
#include "bench/stats.h"
#include "model/forward.h"
#include "model/model.h"
#include "planner/memory_bandwidth.h"
#include "planner/timing_weights.h"
#include "runtime/memory_budget.h"
#include "runtime/weight_modes.h"
#include "tokenizer/tokenizer.h"

namespace flashslim::planner {

ProfileOptions ProfileOptions::quick_calibration(int32_t threads,
                                                 std::optional<uint64_t> budget_bytes) {
  ProfileOptions o;
  o.threads = threads;
  o.budget_bytes = budget_bytes;
  o.prefill_batches = {8, 64};
  o.decode_tokens = 6;
  o.prefill_passes = 1;
  o.reads.read_bytes = {256 << 10, 1 << 20, 4 << 20};
  o.reads.queue_depths = {2, 8};
  o.reads.bytes_per_point = 32ull << 20;
  o.quick = true;
  return o;
}

namespace {

// Median per step and outside the steps over `passes` passes of `batch`
// tokens each; `run_pass` runs one forward pass through `timing`.
template <typename RunPass>
PassTiming time_passes(TimingWeights& timing, size_t n_steps, int32_t batch, int32_t warmup,
                       int32_t passes, RunPass&& run_pass) {
  std::vector<std::vector<double>> per_step(n_steps);
  std::vector<double> outside;
  for (int32_t p = 0; p < warmup + passes; ++p) {
    run_pass();
    if (p < warmup) continue;
    for (size_t s = 0; s < n_steps; ++s) per_step[s].push_back(timing.step_ns()[s] * 1e-6);
    outside.push_back(timing.outside_steps_ns() * 1e-6);
  }
  PassTiming t;
  t.batch = batch;
  t.passes = passes;
  for (const auto& samples : per_step) t.step_ms.push_back(bench::median(samples));
  t.outside_steps_ms = bench::median(outside);
  return t;
}

// Token ids for timing: any valid ids do (compute does not depend on them).
std::vector<int32_t> timing_tokens(int32_t n, int32_t n_vocab) {
  std::vector<int32_t> ids(n);
  for (int32_t i = 0; i < n; ++i) ids[i] = 1 + (i * 7919) % (n_vocab - 1);
  return ids;
}

void measure_compute(const Model& model, const ProfileOptions& o, int threads, Profile& out) {
  const HParams& hp = model.hparams();
  const size_t n_steps = model.schedule().steps.size();
  const int32_t max_batch = *std::max_element(o.prefill_batches.begin(), o.prefill_batches.end());
  ForwardOptions fo;
  fo.n_ctx = std::min(hp.n_ctx_train, std::max(max_batch, 2 + o.decode_tokens) + 8);
  fo.n_batch = max_batch;
  const uint64_t need = model.file().file_size + Forward::memory_bytes(hp, fo, threads);
  const bool resident = !o.budget_bytes || need <= *o.budget_bytes;
  out.compute_method = resident ? "resident" : "mmap, warmed up";
  OpenedWeights weights = open_weights(model, resident ? WeightMode::Resident : WeightMode::Mmap);
  TimingWeights timing(*weights.access, n_steps);
  ThreadPool pool(threads);

  std::fprintf(stderr, "profile: decode compute, %d tokens, %s, %d threads\n", o.decode_tokens,
               out.compute_method.c_str(), threads);
  {
    ForwardOptions decode = fo;
    decode.n_batch = 1;
    Forward forward(model, timing, pool, decode);
    std::vector<float> logits(hp.n_vocab);
    const std::vector<int32_t> ids = timing_tokens(2 + o.decode_tokens, hp.n_vocab);
    size_t next = 0;
    out.decode = time_passes(timing, n_steps, 1, 2, o.decode_tokens, [&] {
      forward.eval({&ids[next++], 1}, logits, false);
    });
  }
  for (int32_t batch : o.prefill_batches) {
    if (batch > fo.n_ctx) continue;  // the model's context is shorter
    std::fprintf(stderr, "profile: prefill compute, batch %d\n", batch);
    ForwardOptions prefill = fo;
    prefill.n_batch = batch;
    Forward forward(model, timing, pool, prefill);
    std::vector<float> logits(hp.n_vocab);
    const std::vector<int32_t> ids = timing_tokens(batch, hp.n_vocab);
    out.prefill.push_back(time_passes(timing, n_steps, batch, 1, o.prefill_passes, [&] {
      forward.reset();
      forward.eval(ids, logits, false);
    }));
  }
}

}  // namespace

Profile profile_model(const std::string& model_path, const ProfileOptions& o) {
  Profile out;
  out.quick = o.quick;
  const int threads =
      o.threads > 0 ? o.threads : static_cast<int>(std::thread::hardware_concurrency());
  out.threads = threads;
  const Model model(model_path);
  const auto tokenizer = Tokenizer::from_gguf(model.file());
  out.baseline_rss_bytes = current_rss_bytes();
  out.model = identify_model(model.file());
  out.machine = bench::to_json(bench::collect_provenance());
  for (const Step& step : model.schedule().steps) {
    out.step_names.push_back(step.name());
    out.step_weight_bytes.push_back(step.weight_bytes());
  }

  // Storage first, while the file is least likely to be cached.
  std::fprintf(stderr, "profile: read bandwidth, %zu sizes x %zu queue depths\n",
               o.reads.read_bytes.size(), o.reads.queue_depths.size());
  out.storage = measure_read_bandwidth(model_path, model.file().data_offset, o.reads);

  measure_compute(model, o, threads, out);

  std::fprintf(stderr, "profile: memory bandwidth\n");
  ThreadPool pool(threads);
  const uint64_t llc = last_level_cache_bytes();
  out.memory_buffer_bytes = std::max<uint64_t>(4 * llc, 256ull << 20);
  out.memory_gb_per_s = measure_memory_bandwidth(pool, out.memory_buffer_bytes, o.quick ? 2 : 5);
  return out;
}

}  // namespace flashslim::planner
