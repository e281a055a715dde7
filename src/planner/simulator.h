#pragma once
// Replays a plan's pipeline event by event to predict its speed: one serial
// disk reading chunks in issue order at the profiled bandwidth, one compute
// stream running the schedule's steps, and the slots between them. A read
// starts when the disk is free, its slot (a ring: the k-th chunk of the run
// goes to slot k % n_slots) has been released by the chunk before it there,
// and the compute has asked for the chunk `window` places before it. A
// step starts when the previous step ended and its chunk is READY; the chunk
// is released when its last step ends (a step may take several chunks). Cyclic: token t+1's first
// chunks load while token t's last steps compute.
#include <cstdint>
#include <vector>

#include "runtime/stream_plan.h"

namespace flashslim::planner {

struct SimulationInput {
  const std::vector<Chunk>* chunks = nullptr;  // in order, first steps non-decreasing
  std::vector<double> chunk_io_ms;             // read time per chunk
  std::vector<double> step_ms;                 // compute per step
  double outside_steps_ms = 0;                 // per pass, before its first step
  int32_t n_slots = 0;
  int32_t window = 0;
  int32_t passes = 8;  // simulated; the steady state is taken over the second half
};

struct ChunkPrediction {
  double t_io_ms = 0;       // its read
  double t_compute_ms = 0;  // its steps and the chunk-less steps after them
  double stall_ms = 0;      // wait for it in the steady state (mean per pass)
};

struct SimulationResult {
  double pass_ms = 0;        // steady-state time per pass
  double first_pass_ms = 0;  // the first pass, starting with nothing loaded
  double compute_ms = 0;     // per pass
  double io_ms = 0;          // disk busy time per pass
  double stall_ms = 0;       // steps waiting for chunks, per pass
  std::vector<ChunkPrediction> chunks;
};

SimulationResult simulate(const SimulationInput& input);

}  // namespace flashslim::planner
