#pragma once
// The disk's own window-to-window jitter at a streamed run's read shape: the model file
// read cold with the streaming runtime's reads (io_uring + O_DIRECT, its read size and
// queue depth, into a huge-paged ring as its slots are), timed in windows of the bytes one
// decode token streams at a budget. When every token waits for its reads, the spread of
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

namespace flashslim::bench {

struct RunSpec;

// How the streaming runtime reads (StreamingOptions' defaults, which `flashslim run` uses).
struct DiskReadShape {
  uint64_t read_bytes = 0;   // per read
  uint32_t queue_depth = 0;  // reads in flight
};
DiskReadShape streaming_read_shape();

// The bytes the automatic plan of `run` (its model, threads, context, prompt) at
// `budget_bytes` reads per decode token: its chunks, widened to O_DIRECT alignment. The
// memory everything but the weights needs is computed as `flashslim run` computes it, for
// a process whose baseline RSS is `baseline_bytes` (the harness passes its own,
// baseline_rss_bytes(), standing in for the run's: TinyLlama runs measure 10.0-10.5 MiB;
// the difference moves the residency, and so these bytes, by as much). Throws
// plan_streaming_within_budget's Error (as `run` refuses) when the budget is below what a
// stream plan needs.
uint64_t planned_read_bytes_per_token(const Model& model, const RunSpec& run, uint64_t budget_bytes,
                                      uint64_t baseline_bytes);

// Evicts `path` from the page cache, then reads its data section (from `data_offset`,
// wrapping around) with `shape`, `windows` windows of `window_bytes` each (a whole number
// of reads, at least 1). Returns each window's time, ms. Throws Error when the file cannot
// be evicted or is not read through io_uring with O_DIRECT (the backend's fallback), so the
// floor is not measured with another read path than the runtime's.
std::vector<double> measure_disk_windows(const std::string& path, uint64_t data_offset,
                                         const DiskReadShape& shape, uint64_t window_bytes,
                                         int windows);

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
  std::vector<double> window_ms;  // each window's time, as measure_disk_windows'
  std::vector<double> sweep_ms;   // each whole sweep: its start to its last thread's end
};

// measure_disk_windows with `sweeps` beside the reads (the buffer is written before the
// file is evicted and the reads start). A window that starts while the sweep before is
// still running has its sweep start as soon as that one ends; further windows starting in
// the meantime add none, so at most one sweep waits and the sweeps never fall further
// behind than one (fewer sweeps than windows then: see sweep_ms' size). After the last
// window the running sweep is finished and a waiting one dropped. Throws Error as
// measure_disk_windows does, and when threads < 1 or bytes hold less than a word a thread.
SweptWindows measure_disk_windows_beside_sweeps(const std::string& path, uint64_t data_offset,
                                                const DiskReadShape& shape, uint64_t window_bytes,
                                                int windows, const MemorySweeps& sweeps);

// `window_bytes` rounded to whole reads of `read_bytes`, at least one read.
uint64_t whole_reads(uint64_t window_bytes, uint64_t read_bytes);

struct DiskFloor {
  uint64_t window_bytes = 0;  // read per window
  int windows = 0;
  TimeSpread ms;           // of the window times
  double gbps_median = 0;  // median of the windows' rates, 1e9 bytes/s
};

// The statistics of `window_ms` (measure_disk_windows' result), windows of `window_bytes`.
DiskFloor disk_floor(uint64_t window_bytes, std::span<const double> window_ms);
// {window_bytes, windows, p50_ms, p99_ms, max_ms, p99_over_p50, gbps_median}.
nlohmann::json to_json(const DiskFloor& floor);
// {sweep_bytes, sweep_threads, sweeps, sweep_p50_ms}: the sweeps beside a floor's reads,
// `sweep_ms` their times (SweptWindows::sweep_ms; p50 0 without any).
nlohmann::json to_json(const MemorySweeps& sweeps, std::span<const double> sweep_ms);

}  // namespace flashslim::bench
