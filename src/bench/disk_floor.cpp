#include "bench/disk_floor.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "bench/experiment_config.h"
#include "bench/machine_jitter.h"
#include "bench/stats.h"
#include "core/error.h"
#include "model/forward.h"
#include "planner/read_bandwidth.h"
#include "runtime/memory_budget.h"
#include "runtime/streaming_weights.h"
#include "runtime/weight_modes.h"
#include "storage/page_cache.h"
#include "storage/storage.h"

namespace flashslim::bench {

DiskReadShape streaming_read_shape() {
  const StreamingOptions runtime;
  return {runtime.max_read_bytes, runtime.queue_depth};
}

StreamPlan planned_stream_plan(const Model& model, const RunSpec& run, uint64_t budget_bytes,
                               uint64_t baseline_bytes) {
  ForwardOptions forward;
  forward.n_ctx = run.ctx;
  // `run` evaluates the prompt in batches of at most its length.
  forward.n_batch = std::min(forward.n_batch, std::max(1, run.prompt_tokens));
  const MemoryBreakdown fixed = fixed_memory(model, forward, run.threads, 1, baseline_bytes);
  return plan_streaming_within_budget(model, budget_bytes, fixed, ResidencyPolicy::Balanced);
}

uint64_t planned_read_bytes_per_token(const Model& model, const RunSpec& run, uint64_t budget_bytes,
                                      uint64_t baseline_bytes) {
  uint64_t bytes = 0;
  for (const Chunk& c : planned_stream_plan(model, run, budget_bytes, baseline_bytes).chunks)
    bytes += chunk_read_bytes(c.parts);
  return bytes;
}

std::vector<AlignedRead> token_reads(const StreamPlan& plan, uint64_t max_read_bytes) {
  std::vector<AlignedRead> reads;
  for (const Chunk& c : plan.chunks) {
    const ReadLayout layout = layout_reads(c.parts, kStreamReadAlignment, max_read_bytes);
    reads.insert(reads.end(), layout.reads.begin(), layout.reads.end());
  }
  return reads;
}

namespace {

using Clock = std::chrono::steady_clock;

// `threads` threads sweeping a buffer of `bytes` together, one sweep per request; a
// request while a sweep runs has the next start when it ends, and at most one waits.
class SweepThreads {
 public:
  explicit SweepThreads(const MemorySweeps& sweeps)
      : words_(sweeps.bytes / sizeof(uint64_t), 1),  // written here: the sweeps never fault
        n_threads_(sweeps.threads) {
    if (sweeps.threads < 1 || words_.size() < static_cast<size_t>(sweeps.threads))
      fail(
          "disk floor beside compute: {} threads sweeping {} bytes, need at least 1 thread and "
          "8 bytes a thread",
          sweeps.threads, sweeps.bytes);
    const size_t share = (words_.size() + n_threads_ - 1) / n_threads_;
    for (int t = 0; t < n_threads_; ++t) {
      const size_t begin = std::min(words_.size(), t * share);
      const std::span<const uint64_t> mine(words_.data() + begin,
                                           std::min(share, words_.size() - begin));
      workers_.emplace_back([this, mine] { work(mine); });
    }
  }
  ~SweepThreads() { stop(); }

  void request() {
    const std::lock_guard lock(mutex_);
    if (running_ > 0)
      waiting_ = true;
    else
      begin_locked();
  }

  // Ends the threads once the sweep begun is done (a waiting one does not begin); returns
  // the whole sweeps' times, ms.
  std::vector<double> stop() {
    {
      const std::lock_guard lock(mutex_);
      stopping_ = true;
      waiting_ = false;
    }
    wake_.notify_all();
    for (std::thread& w : workers_)
      if (w.joinable()) w.join();
    return sweep_ms_;
  }

 private:
  void begin_locked() {
    ++generation_;
    running_ = n_threads_;
    begun_ = Clock::now();
    wake_.notify_all();
  }

  void work(std::span<const uint64_t> mine) {
    uint64_t done_generation = 0;
    // The sums are kept so the compiler cannot drop the sweeps.
    volatile uint64_t sink = 0;
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || generation_ != done_generation; });
        if (generation_ == done_generation) return;  // stopping, nothing begun left
        done_generation = generation_;
      }
      sink = sink + sweep_words(mine);
      const std::lock_guard lock(mutex_);
      if (--running_ > 0) continue;
      sweep_ms_.push_back(std::chrono::duration<double, std::milli>(Clock::now() - begun_).count());
      if (waiting_) {
        waiting_ = false;
        begin_locked();
      }
    }
  }

  const std::vector<uint64_t> words_;
  const int n_threads_;
  std::mutex mutex_;
  std::condition_variable wake_;
  uint64_t generation_ = 0;  // sweeps begun
  int running_ = 0;          // threads still sweeping the current one
  bool waiting_ = false;     // a sweep starts when the current one ends
  bool stopping_ = false;
  Clock::time_point begun_;
  std::vector<double> sweep_ms_;
  std::vector<std::thread> workers_;  // last: started once everything above is
};

std::vector<planner::TimedWindow> time_disk_windows(const std::string& path,
                                                    std::span<const AlignedRead> window_reads,
                                                    uint32_t queue_depth, int windows,
                                                    const std::function<void()>& at_window_start) {
  if (windows < 1) fail("disk floor: {} windows, need at least 1", windows);
  const auto file = storage::open_storage(path, storage::StorageKind::UringDirect);
  // The backend falls back (with a notice) where io_uring or O_DIRECT is missing; that
  // would time another read path than the runtime's.
  if (file->description() != "io_uring O_DIRECT")
    fail("disk floor: {} is read through {}, not io_uring O_DIRECT", path, file->description());
  storage::evict_file_from_page_cache(path);
  // O_DIRECT here aligns to kStreamReadAlignment as the layout does, so no read passes what
  // the storage allows at the file's end (the runtime's read_span trims none).
  std::vector<planner::FileRead> reads;
  reads.reserve(window_reads.size());
  for (const AlignedRead& r : window_reads) reads.push_back({r.file_offset, r.length});
  return planner::time_listed_windows(*file, reads, queue_depth, static_cast<uint64_t>(windows),
                                      at_window_start);
}

}  // namespace

std::vector<planner::TimedWindow> measure_disk_windows(const std::string& path,
                                                       std::span<const AlignedRead> window_reads,
                                                       uint32_t queue_depth, int windows) {
  return time_disk_windows(path, window_reads, queue_depth, windows, {});
}

SweptWindows measure_disk_windows_beside_sweeps(const std::string& path,
                                                std::span<const AlignedRead> window_reads,
                                                uint32_t queue_depth, int windows,
                                                const MemorySweeps& sweeps) {
  SweepThreads threads(sweeps);
  SweptWindows out;
  out.windows = time_disk_windows(path, window_reads, queue_depth, windows,
                                  [&threads] { threads.request(); });
  out.sweep_ms = threads.stop();
  return out;
}

DiskFloor disk_floor(std::span<const planner::TimedWindow> windows) {
  if (windows.empty()) fail("disk floor: no windows");
  std::vector<double> ms, gbps;
  for (const planner::TimedWindow& w : windows) {
    ms.push_back(static_cast<double>(w.ns) / 1e6);
    if (w.ns > 0) gbps.push_back(static_cast<double>(w.bytes) / static_cast<double>(w.ns));
  }
  DiskFloor floor{windows.front().bytes, windows.front().reads, static_cast<int>(windows.size()),
                  time_spread(ms)};
  floor.gbps_median = gbps.empty() ? 0 : median(gbps);
  return floor;
}

nlohmann::json to_json(const DiskFloor& floor) {
  return {{"window_bytes", floor.window_bytes},
          {"reads_per_window", floor.reads_per_window},
          {"mean_read_bytes", floor.reads_per_window == 0
                                  ? 0.0
                                  : static_cast<double>(floor.window_bytes) /
                                        static_cast<double>(floor.reads_per_window)},
          {"windows", floor.windows},
          {"p50_ms", floor.ms.p50},
          {"p99_ms", floor.ms.p99},
          {"max_ms", floor.ms.max},
          {"p99_over_p50", floor.ms.p99_over_p50},
          {"gbps_median", floor.gbps_median}};
}

nlohmann::json to_json(const MemorySweeps& sweeps, std::span<const double> sweep_ms) {
  return {{"sweep_bytes", sweeps.bytes},
          {"sweep_threads", sweeps.threads},
          {"sweeps", sweep_ms.size()},
          {"sweep_p50_ms", sweep_ms.empty() ? 0.0 : median(sweep_ms)}};
}

}  // namespace flashslim::bench
