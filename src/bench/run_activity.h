#pragma once
// What the CPU scheduler and the disk did during a run (thread_sched.h, disk_activity.h),
// over its decode phase and per decode token, so slow tokens can be told apart: the I/O
// thread waiting for a CPU (run-queue delay), the disk delivering slowly while busy, or
// the disk idle (no reads issued).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <vector>

#include "bench/disk_activity.h"
#include "bench/run_results.h"
#include "bench/thread_sched.h"

namespace flashslim::bench {

// One decode token's share of the activity (its window: t_start .. t_start + latency).
struct TokenActivity {
  double latency_ms = 0;
  double bytes_read = 0;           // the run's, from the token log
  double io_runq_ms = 0;           // I/O threads' run-queue delay (is_io_kind)
  double compute_runq_ms = 0;      // compute threads' (is_compute_kind), summed
  double io_involuntary = 0;       // I/O threads' involuntary context switches
  double compute_involuntary = 0;  // compute threads'
  double disk_busy_ms = 0, disk_read_bytes = 0;
};

// Per decode entry of `log`, in order. `origin_ns`: the CLOCK_MONOTONIC time the token
// log's t_start_us counts from (phases.json load_ns).
std::vector<TokenActivity> token_activity(std::span<const TokenLogEntry> log, uint64_t origin_ns,
                                          const ThreadSchedSeries& threads,
                                          std::span<const DiskSample> disk);

// Means over tokens: {tokens, io_runq_ms, compute_runq_ms, io_involuntary,
// compute_involuntary (per token), disk_busy_share (busy time / token time),
// disk_read_mbps (disk bytes / busy time, MB/s; null when the disk was never busy),
// run_share_of_disk_reads (the run's bytes / the disk's: below 1, other processes read
// the same disk; null when the disk read nothing)}. Null without tokens.
nlohmann::json activity_means(std::span<const TokenActivity> tokens);

// run.json "activity_decode": the decode phase (from_ns .. to_ns) per thread kind
// ({threads, cpu_ms, runq_wait_ms, voluntary_switches, involuntary_switches}) and the
// disk ({read_bytes, busy_ms, busy_share}); either null without samples.
nlohmann::json decode_activity_json(const ThreadSchedSeries& threads,
                                    std::span<const DiskSample> disk, uint64_t from_ns,
                                    uint64_t to_ns);

}  // namespace flashslim::bench
