#include "planner/profiler.h"

#include <algorithm>
#include <cstdio>
#include <thread>

#include "bench/provenance.h"
#include "bench/stats.h"
#include "core/error.h"
#include "model/forward.h"
#include "model/model.h"
#include "planner/memory_bandwidth.h"
#include "planner/residency.h"
#include "planner/sustained_read.h"
#include "planner/timing_weights.h"
#include "runtime/auto_planner.h"
#include "runtime/memory_budget.h"
#include "runtime/streaming_weights.h"
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
  o.sustained_read_bytes = 64ull << 20;
  o.quick = true;
  return o;
}

namespace {

// Per-pass times read from a TimingWeights, and their medians.
class PassSamples {
 public:
  explicit PassSamples(size_t n_steps) : per_step_(n_steps) {}
  void add(const TimingWeights& timing) {
    for (size_t s = 0; s < per_step_.size(); ++s)
      per_step_[s].push_back(timing.step_ns()[s] * 1e-6);
    outside_.push_back(timing.outside_steps_ns() * 1e-6);
  }
  PassTiming medians(int32_t batch) const {
    PassTiming t;
    t.batch = batch;
    t.passes = static_cast<int32_t>(outside_.size());
    for (const auto& samples : per_step_) t.step_ms.push_back(bench::median(samples));
    t.outside_steps_ms = bench::median(outside_);
    return t;
  }

 private:
  std::vector<std::vector<double>> per_step_;  // ms
  std::vector<double> outside_;                // ms
};

// Median per step and outside the steps over `passes` passes of `batch`
// tokens each; `run_pass` runs one forward pass through `timing`.
template <typename RunPass>
PassTiming time_passes(TimingWeights& timing, size_t n_steps, int32_t batch, int32_t warmup,
                       int32_t passes, RunPass&& run_pass) {
  PassSamples samples(n_steps);
  for (int32_t p = 0; p < warmup + passes; ++p) {
    run_pass();
    if (p >= warmup) samples.add(timing);
  }
  return samples.medians(batch);
}

// Token ids for timing: any valid ids do (compute does not depend on them).
std::vector<int32_t> timing_tokens(int32_t n, int32_t n_vocab) {
  std::vector<int32_t> ids(n);
  for (int32_t i = 0; i < n; ++i) ids[i] = 1 + (i * 7919) % (n_vocab - 1);
  return ids;
}

// One-token passes timed over the resident (or mmap) weights and, alternated
// pass by pass so that both see the same load of a shared machine, while the
// runtime streams: the automatic plan for half the matrices' bytes
// (disk-bound, so reads are in flight for nearly the whole pass) read with the
// reads `run --mode stream` makes. TimingWeights excludes the waits for
// chunks: what remains is the compute slowed by the I/O thread sharing the
// cores. Between its passes the prefetcher fills its window and idles.
void time_decode(const Model& model, WeightAccess& resident, ThreadPool& pool,
                 const ForwardOptions& fo, int32_t tokens, Profile& out) {
  const HParams& hp = model.hparams();
  const size_t n_steps = model.schedule().steps.size();
  uint64_t matrix_bytes = 0;
  for (const Matrix& m : schedule_matrices(model)) matrix_bytes += m.info->nbytes;
  const StreamingOptions reads;
  WeightOptions wo;
  wo.mode = WeightMode::Stream;
  wo.mlock = false;
  wo.planned = PlannedStream{
      plan_streaming(model, std::max(matrix_bytes / 2, min_streaming_bytes(model, wo.policy)),
                     wo.policy),
      reads.queue_depth, reads.max_read_bytes};
  OpenedWeights streamed = open_weights(model, wo, MemoryBreakdown{});
  std::fprintf(stderr,
               "profile: decode compute while streaming %zu chunks, alternated with the above, "
               "then the prefetcher's read rate\n",
               streamed.plan->chunks.size());

  ForwardOptions decode = fo;
  decode.n_batch = 1;
  TimingWeights resident_timing(resident, n_steps), streamed_timing(*streamed.access, n_steps);
  Forward resident_forward(model, resident_timing, pool, decode);
  Forward streamed_forward(model, streamed_timing, pool, decode);
  PassSamples resident_samples(n_steps), streamed_samples(n_steps);
  std::vector<float> logits(hp.n_vocab);
  const std::vector<int32_t> ids = timing_tokens(2 + tokens, hp.n_vocab);
  constexpr int32_t kWarmup = 2;
  for (int32_t p = 0; p < kWarmup + tokens; ++p) {
    resident_forward.eval({&ids[p], 1}, logits, false);
    streamed_forward.eval({&ids[p], 1}, logits, false);
    if (p < kWarmup) continue;
    resident_samples.add(resident_timing);
    streamed_samples.add(streamed_timing);
  }
  out.decode = resident_samples.medians(1);
  out.decode_streaming = streamed_samples.medians(1);

  // The prefetcher's rate over streaming passes alone, as in a run's decode:
  // alternated with resident passes, whose compute delays the I/O thread, it
  // read at 0.48 GB/s where runs right after read 0.84-0.94 (TinyLlama).
  streamed_forward.reset();
  const WeightStats first = streamed.access->stats();
  for (int32_t p = 0; p < tokens; ++p) streamed_forward.eval({&ids[p], 1}, logits, false);
  const WeightStats last = streamed.access->stats();
  const uint64_t busy_ns = last.io_busy_ns - first.io_busy_ns;
  if (busy_ns == 0) fail("profile: the prefetcher read nothing while {} passes streamed", tokens);
  out.storage.streaming_read = {
      reads.max_read_bytes, reads.queue_depth,
      static_cast<double>(last.bytes_read - first.bytes_read) / static_cast<double>(busy_ns)};
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
  time_decode(model, *weights.access, pool, fo, o.decode_tokens, out);
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

Profile profile_model(const Model& model, const ProfileOptions& o) {
  Profile out;
  out.quick = o.quick;
  const int threads =
      o.threads > 0 ? o.threads : static_cast<int>(std::thread::hardware_concurrency());
  out.threads = threads;
  const auto tokenizer = Tokenizer::from_gguf(model.file());
  out.baseline_rss_bytes = baseline_rss_bytes();
  out.model = identify_model(model.file());
  out.machine = bench::to_json(bench::collect_provenance());
  for (const Step& step : model.schedule().steps) {
    out.step_names.push_back(step.name());
    out.step_weight_bytes.push_back(step.weight_bytes());
  }

  // Storage first, while the file is least likely to be cached: the curve
  // between samples of the runtime's reads sustained, and the memory
  // bandwidth (which reads no file) before the last. All before the compute
  // timings, whose resident load of the file the host caches: samples after
  // it read 2.50-2.52 GB/s where the one before read 2.35 (TinyLlama), 3.19-3.22
  // where it read 2.54 (7B), and runs right after read 1.84-2.11 and 1.99-2.46.
  const StreamingOptions runtime_reads;
  SustainedReadSampler sustained(model.file().path, model.file().data_offset,
                                 runtime_reads.max_read_bytes, runtime_reads.queue_depth,
                                 o.sustained_read_bytes);
  const auto sample_sustained = [&] {
    std::fprintf(stderr, "profile: sustained reads, %llu MiB\n",
                 static_cast<unsigned long long>(o.sustained_read_bytes >> 20));
    sustained.sample();
  };
  sample_sustained();
  std::fprintf(stderr, "profile: read bandwidth, %zu sizes x %zu queue depths\n",
               o.reads.read_bytes.size(), o.reads.queue_depths.size());
  out.storage = measure_read_bandwidth(model.file().path, model.file().data_offset, o.reads);
  sample_sustained();

  std::fprintf(stderr, "profile: memory bandwidth\n");
  {
    ThreadPool pool(threads);
    const uint64_t llc = last_level_cache_bytes();
    out.memory_buffer_bytes = std::max<uint64_t>(4 * llc, 256ull << 20);
    out.memory_gb_per_s = measure_memory_bandwidth(pool, out.memory_buffer_bytes, o.quick ? 2 : 5);
  }
  sample_sustained();
  out.storage.sustained_read = sustained.result();

  measure_compute(model, o, threads, out);
  return out;
}

}  // namespace flashslim::planner
