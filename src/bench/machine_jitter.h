#pragma once
// The machine's own pass-to-pass jitter: the same memory sweep timed again and again, in
// one thread of the harness process. A decode token of a resident model reads every weight
// once, so a sweep over as many bytes is the memory traffic of a token without the engine;
// the spread of its pass times (p99 / p50) is a floor under the per-token p99 / p50 that
// no engine can go below on this machine (docs/experiments.md, "Machine floor").
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <vector>

#include "bench/stats.h"

namespace flashslim::bench {

// One sweep: the sum of every word, with four accumulators so it is bound by memory, not
// by one add chain. The floors' stand-in for a decode token's weight reads.
uint64_t sweep_words(std::span<const uint64_t> words);

// Times `passes` sweeps (each sums every 8-byte word) over a buffer of `bytes`, which is
// written first and swept `warmup_passes` times untimed. Returns each pass's time, ms.
// Throws Error when bytes < 8 or passes < 1.
std::vector<double> measure_machine_jitter(uint64_t bytes, int passes, int warmup_passes = 3);

struct MachineFloor {
  uint64_t bytes = 0;  // buffer swept per pass
  int passes = 0;
  TimeSpread ms;  // of the pass times
};

// The percentiles of `pass_ms` (measure_machine_jitter's result) over a buffer of `bytes`.
MachineFloor machine_floor(uint64_t bytes, std::span<const double> pass_ms);
// {bytes, passes, p50_ms, p99_ms, p99_over_p50}, as in summary.json's "machine_floor".
nlohmann::json to_json(const MachineFloor& floor);

// The buffer for a floor that matches a resident decode of a model file of `model_bytes`:
// that many bytes, at most half of MemAvailable (/proc/meminfo), so the sweep itself does
// not push the machine into reclaim.
uint64_t machine_floor_bytes(uint64_t model_bytes);

}  // namespace flashslim::bench
