#include "bench/disk_floor.h"

#include <algorithm>

#include "bench/experiment_config.h"
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

uint64_t planned_read_bytes_per_token(const Model& model, const RunSpec& run, uint64_t budget_bytes,
                                      uint64_t baseline_bytes) {
  ForwardOptions forward;
  forward.n_ctx = run.ctx;
  // `run` evaluates the prompt in batches of at most its length.
  forward.n_batch = std::min(forward.n_batch, std::max(1, run.prompt_tokens));
  const MemoryBreakdown fixed = fixed_memory(model, forward, run.threads, 1, baseline_bytes);
  const StreamPlan plan =
      plan_streaming_within_budget(model, budget_bytes, fixed, ResidencyPolicy::Balanced);
  uint64_t bytes = 0;
  for (const Chunk& c : plan.chunks) bytes += chunk_read_bytes(c.parts);
  return bytes;
}

uint64_t whole_reads(uint64_t window_bytes, uint64_t read_bytes) {
  return std::max<uint64_t>(1, (window_bytes + read_bytes / 2) / read_bytes) * read_bytes;
}

std::vector<double> measure_disk_windows(const std::string& path, uint64_t data_offset,
                                         const DiskReadShape& shape, uint64_t window_bytes,
                                         int windows) {
  if (windows < 1) fail("disk floor: {} windows, need at least 1", windows);
  const auto file = storage::open_storage(path, storage::StorageKind::UringDirect);
  // The backend falls back (with a notice) where io_uring or O_DIRECT is missing; that
  // would time another read path than the runtime's.
  if (file->description() != "io_uring O_DIRECT")
    fail("disk floor: {} is read through {}, not io_uring O_DIRECT", path, file->description());
  storage::evict_file_from_page_cache(path);
  planner::ReadWindows reads = planner::data_section_reads(*file, data_offset);
  reads.read_bytes = shape.read_bytes;
  reads.depth = shape.queue_depth;
  reads.reads_per_window = whole_reads(window_bytes, shape.read_bytes) / shape.read_bytes;
  reads.windows = static_cast<uint64_t>(windows);
  uint64_t start = reads.begin;
  const std::vector<uint64_t> ns = planner::time_read_windows(*file, reads, start);
  std::vector<double> ms;
  ms.reserve(ns.size());
  for (uint64_t t : ns) ms.push_back(static_cast<double>(t) / 1e6);
  return ms;
}

DiskFloor disk_floor(uint64_t window_bytes, std::span<const double> window_ms) {
  DiskFloor floor{window_bytes, static_cast<int>(window_ms.size()), time_spread(window_ms)};
  std::vector<double> gbps;
  gbps.reserve(window_ms.size());
  for (double ms : window_ms)
    if (ms > 0) gbps.push_back(static_cast<double>(window_bytes) / (ms * 1e6));
  floor.gbps_median = gbps.empty() ? 0 : median(gbps);
  return floor;
}

nlohmann::json to_json(const DiskFloor& floor) {
  return {{"window_bytes", floor.window_bytes},
          {"windows", floor.windows},
          {"p50_ms", floor.ms.p50},
          {"p99_ms", floor.ms.p99},
          {"max_ms", floor.ms.max},
          {"p99_over_p50", floor.ms.p99_over_p50},
          {"gbps_median", floor.gbps_median}};
}

}  // namespace flashslim::bench
