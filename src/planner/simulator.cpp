#include "planner/simulator.h"

#include <algorithm>

#include "core/error.h"

namespace flashslim::planner {

SimulationResult simulate(const SimulationInput& in) {
  const std::vector<Chunk>& chunks = *in.chunks;
  const int32_t n_chunks = static_cast<int32_t>(chunks.size());
  const int32_t n_steps = static_cast<int32_t>(in.step_ms.size());
  if (in.chunk_io_ms.size() != chunks.size())
    fail("simulate: {} read times for {} chunks", in.chunk_io_ms.size(), n_chunks);
  if (in.passes < 2) fail("simulate: needs at least 2 passes, got {}", in.passes);
  if (n_chunks > 0 && (in.n_slots < 1 || in.window < 1))
    fail("simulate: chunks need at least one slot and a window of 1");

  // Chunks taken when step s starts and released when it ends (a step may
  // need several, e.g. a matrix split over slots), in id order.
  std::vector<std::vector<int32_t>> taken(n_steps), released(n_steps);
  for (const Chunk& c : chunks) {
    if (c.first_step < 0 || c.last_step < c.first_step || c.last_step >= n_steps)
      fail("simulate: chunk {} covers steps {}..{} of {}", c.id, c.first_step, c.last_step,
           n_steps);
    taken[c.first_step].push_back(c.id);
    released[c.last_step].push_back(c.id);
  }

  SimulationResult r;
  r.chunks.assign(n_chunks, {});
  for (int32_t k = 0; k < n_chunks; ++k) {
    r.chunks[k].t_io_ms = in.chunk_io_ms[k];
    const int32_t end = k + 1 < n_chunks ? chunks[k + 1].first_step : n_steps;
    for (int32_t s = chunks[k].first_step; s < end; ++s) r.chunks[k].t_compute_ms += in.step_ms[s];
  }
  for (double ms : in.step_ms) r.compute_ms += ms;
  r.compute_ms += in.outside_steps_ms;
  for (double ms : in.chunk_io_ms) r.io_ms += ms;

  // Event times per global chunk g = pass * n_chunks + k.
  const int64_t total = static_cast<int64_t>(in.passes) * n_chunks;
  std::vector<double> ready(total, 0), requested(total, 0);
  std::vector<double> slot_free(std::max(in.n_slots, 1), 0.0);
  double disk_free = 0, clock = 0;
  int64_t next_read = 0;
  // Issues reads in order up to and including g (their inputs are known once
  // every earlier chunk has been used and released).
  auto issue_through = [&](int64_t g) {
    for (; next_read <= g; ++next_read) {
      const int32_t k = static_cast<int32_t>(next_read % n_chunks);
      const int64_t slot = next_read % in.n_slots;  // the runtime's slot ring
      double start = std::max(disk_free, slot_free[slot]);
      if (next_read - in.window >= 0) start = std::max(start, requested[next_read - in.window]);
      disk_free = start + in.chunk_io_ms[k];
      ready[next_read] = disk_free;
    }
  };
  std::vector<double> pass_end(in.passes, 0);
  std::vector<double> stall_per_chunk(n_chunks, 0);
  const int32_t steady_from = in.passes / 2;
  for (int32_t pass = 0; pass < in.passes; ++pass) {
    clock += in.outside_steps_ms;
    const int64_t first = static_cast<int64_t>(pass) * n_chunks;
    for (int32_t s = 0; s < n_steps; ++s) {
      for (int32_t k : taken[s]) {
        requested[first + k] = clock;
        issue_through(first + k);
        const double wait = std::max(0.0, ready[first + k] - clock);
        if (pass >= steady_from) {
          stall_per_chunk[k] += wait;
          r.stall_ms += wait;
        }
        clock += wait;
      }
      clock += in.step_ms[s];
      for (int32_t k : released[s]) slot_free[(first + k) % in.n_slots] = clock;
    }
    pass_end[pass] = clock;
  }
  const int32_t steady_passes = in.passes - steady_from;
  r.first_pass_ms = pass_end[0];
  r.pass_ms = (pass_end[in.passes - 1] - pass_end[steady_from - 1]) / steady_passes;
  r.stall_ms /= steady_passes;
  for (int32_t k = 0; k < n_chunks; ++k) r.chunks[k].stall_ms = stall_per_chunk[k] / steady_passes;
  return r;
}

}  // namespace flashslim::planner
