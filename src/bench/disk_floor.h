#pragma once
// The disk's own window-to-window jitter at a streamed run's reads: the model file read
// cold with the reads one decode token of the run issues (the automatic plan's chunks in
// plan order, each laid out as the streaming runtime lays it out), through the runtime's
// read path (io_uring + O_DIRECT, its queue depth, into a huge-paged ring as its slots
// are), one window per token's reads. When every token waits for its reads, the spread of
// those window times (p99 / p50) is a floor under the stream runs' per-token p99 / p50
// that the engine cannot go below on this disk (docs/experiments.md, "Disk floor"). Read
// alone the reads are faster than a run's own, whose compute's memory traffic competes
// with the disk's transfers; the floor beside memory sweeps (MemorySweeps) stands in for
// that traffic.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "bench/stats.h"
#include "model/model.h"
#include "planner/read_bandwidth.h"
#include "runtime/read_layout.h"
#include "runtime/stream_plan.h"

namespace flashslim::bench {

struct RunSpec;

// How the streaming runtime reads (StreamingOptions' defaults, which `flashslim run` uses).
struct DiskReadShape {
  uint64_t read_bytes = 0;   // the longest read: a chunk's ranges are cut into reads of this
  uint32_t queue_depth = 0;  // reads in flight
};
DiskReadShape streaming_read_shape();

// The automatic plan of `run` (its model, threads, context, prompt) at `budget_bytes`. The
// memory everything but the weights needs is computed as `flashslim run` computes it, for
// a process whose baseline RSS is `baseline_bytes` (the harness passes its own,
// baseline_rss_bytes(), standing in for the run's: TinyLlama runs measure 10.0-10.5 MiB;
// the difference moves the residency, and so the streamed bytes, by as much). Throws
// plan_streaming_within_budget's Error (as `run` refuses) when the budget is below what a
// stream plan needs.
StreamPlan planned_stream_plan(const Model& model, const RunSpec& run, uint64_t budget_bytes,
                               uint64_t baseline_bytes);

// The bytes that plan reads per decode token: its chunks, widened to O_DIRECT alignment.
uint64_t planned_read_bytes_per_token(const Model& model, const RunSpec& run, uint64_t budget_bytes,
                                      uint64_t baseline_bytes);

// The reads of one decode token under `plan`, in the order the streaming runtime issues
// them: every chunk in plan order, laid out as the runtime lays it out (layout_reads with
// kStreamReadAlignment, reads of at most `max_read_bytes`), its reads in file order. Their
// lengths add up to chunk_read_bytes over the chunks.
std::vector<AlignedRead> token_reads(const StreamPlan& plan, uint64_t max_read_bytes);

// Evicts `path` from the page cache, then issues `window_reads` (one token's reads, as
// token_reads gives them; buffer offsets unused) `windows` times over, `queue_depth` in
// flight (planner::time_listed_windows). Returns each window's time and the reads and
// bytes completed in it. Throws Error when the file cannot be evicted or is not read
// through io_uring with O_DIRECT (the backend's fallback), so the floor is not measured
// with another read path than the runtime's.
std::vector<planner::TimedWindow> measure_disk_windows(const std::string& path,
                                                       std::span<const AlignedRead> window_reads,
                                                       uint32_t queue_depth, int windows);

// Compute-like memory traffic beside a floor's reads. In stream mode the runtime computes
// token t while token t+1's reads are in flight, and a decode token reads every weight
// once; so at the start of each read window `threads` threads (the run's compute threads)
// each sweep their share of a buffer of `bytes` (the model's bytes, as machine_floor_bytes
// sizes it) once, with sweep_words. A proxy: pure memory reads, no arithmetic.
struct MemorySweeps {
  uint64_t bytes = 0;  // swept once per window, split evenly over the threads
  int threads = 0;
};

struct SweptWindows {
  std::vector<planner::TimedWindow> windows;  // as measure_disk_windows'
  std::vector<double> sweep_ms;  // each whole sweep: its start to its last thread's end
};

// measure_disk_windows with `sweeps` beside the reads (the buffer is written before the
// file is evicted and the reads start). A window that starts while the sweep before is
// still running has its sweep start as soon as that one ends; further windows starting in
// the meantime add none, so at most one sweep waits and the sweeps never fall further
// behind than one (fewer sweeps than windows then: see sweep_ms' size). After the last
// window the running sweep is finished and a waiting one dropped. Throws Error as
// measure_disk_windows does, and when threads < 1 or bytes hold less than a word a thread.
SweptWindows measure_disk_windows_beside_sweeps(const std::string& path,
                                                std::span<const AlignedRead> window_reads,
                                                uint32_t queue_depth, int windows,
                                                const MemorySweeps& sweeps);

struct DiskFloor {
  uint64_t window_bytes = 0;      // read per window (the first window's; each reads the same)
  uint64_t reads_per_window = 0;  // the first window's reads
  int windows = 0;
  TimeSpread ms;           // of the window times
  double gbps_median = 0;  // median of the windows' rates, 1e9 bytes/s
};

// The statistics of `windows` (measure_disk_windows' result; at least one).
DiskFloor disk_floor(std::span<const planner::TimedWindow> windows);
// {window_bytes, reads_per_window, mean_read_bytes, windows, p50_ms, p99_ms, max_ms,
// p99_over_p50, gbps_median}.
nlohmann::json to_json(const DiskFloor& floor);
// {sweep_bytes, sweep_threads, sweeps, sweep_p50_ms}: the sweeps beside a floor's reads,
// `sweep_ms` their times (SweptWindows::sweep_ms; p50 0 without any).
nlohmann::json to_json(const MemorySweeps& sweeps, std::span<const double> sweep_ms);

}  // namespace flashslim::bench
