#pragma once
// Statistics of one generation run: per-token counters sampled at token
// boundaries (--token-log JSONL) and the run's summary (stderr and
// --stats-json), with the fields docs/experiments.md defines, plus the
// streaming figures: bytes read per token, achieved read GB/s, stalls,
// overlap ratio, resident bytes by class, peak RSS, and the bound
// min(1 / T_compute, read GB/s / streamed bytes per token).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runtime/weight_modes.h"

namespace flashslim {

// Cumulative counters at one instant.
struct CounterSample {
  uint64_t t_ns = 0;        // monotonic clock
  uint64_t bytes_read = 0;  // model bytes from storage: the runtime's count (sync, stream)
                            // or the kernel's read_bytes of /proc/self/io (resident, mmap)
  uint64_t stalls = 0;
  uint64_t stall_ns = 0;
  uint64_t io_busy_ns = 0;
  uint64_t io_cpu_ns = 0;
  uint64_t major_faults = 0;           // getrusage RUSAGE_SELF
  std::vector<uint64_t> in_flight_ns;  // WeightStats::in_flight_ns
};
CounterSample sample_counters(const OpenedWeights& weights);

// One line of the token log.
struct TokenEntry {
  bool prefill = false;
  int32_t pos = 0;
  int32_t n_tokens = 1;
  int32_t token = -1;
  CounterSample start, end;
};

struct RunSummary {
  std::string mode;
  std::optional<uint64_t> budget_bytes;
  int threads = 0;
  int32_t ctx = 0;
  uint64_t model_bytes = 0;
  double load_s = 0;
  double ttft_s = 0;
  int64_t prompt_tokens = 0;
  double prefill_s = 0;
  int64_t gen_tokens = 0;     // tokens generated
  int64_t decode_passes = 0;  // forward passes among them (the last token is not evaluated;
                              // decode_tps = decode_passes / decode_s)
  double decode_s = 0;
  CounterSample decode_start, decode_end;  // over the decode passes
  uint64_t total_bytes_read = 0;
  WeightStats weights;
  uint64_t peak_rss_bytes = 0;
  MemoryBreakdown memory;

  double decode_tps() const;
  double bytes_per_token() const;
  double read_gbps() const;  // bytes / time with reads in flight, GB/s
  double stall_s() const;
  double overlap_ratio() const;        // share of I/O time hidden behind compute
  double compute_s_per_token() const;  // decode time minus stalls, per token
  double io_cpu_share() const;         // prefetch thread's CPU time / decode time
  double bound_tps() const;            // min(1/T_compute, read GB/s / bytes per token)
  // [k]: share of the prefetch queue's decode time with k reads in flight.
  std::vector<double> in_flight_shares() const;
  double mean_in_flight() const;
};

nlohmann::json token_entry_json(const TokenEntry& entry, size_t index, uint64_t origin_ns);
nlohmann::json run_summary_json(const RunSummary& summary);
std::string run_summary_text(const RunSummary& summary);  // several lines for stderr

}  // namespace flashslim
