#pragma once
// What a WeightAccess did during a run, for `run`'s statistics: bytes it read
// from storage, how often and how long the compute waited for weights, how
// long reads were in flight, and the memory it holds. Counters are
// cumulative; take differences for one token.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/weight_access.h"

namespace flashslim {

struct WeightStats {
  uint64_t bytes_read = 0;  // model bytes read from storage by the runtime (0 for mmap:
                            // page faults are counted by the kernel, see /proc/self/io)
  uint64_t reads = 0;       // storage reads issued
  uint64_t chunks_loaded = 0;
  uint64_t stalls = 0;          // acquire() calls that waited for a chunk
  uint64_t stall_ns = 0;        // time they waited
  uint64_t io_busy_ns = 0;      // wall time with at least one read in flight
  uint64_t io_cpu_ns = 0;       // CPU time of the prefetch thread
  uint64_t resident_bytes = 0;  // weights held for the whole run (aligned buffers)
  uint64_t slot_bytes = 0;      // streaming slots, all of them
  std::map<std::string, uint64_t> resident_by_class;  // tensor class name → bytes of rows
  bool mlock_ok = false;                              // resident weights are locked in memory
  std::string storage;                                // backend description
  // [k]: wall time (ns) the prefetch queue had k reads in flight, counted
  // from the first read (stream mode; empty otherwise).
  std::vector<uint64_t> in_flight_ns;
};

// A WeightAccess that reports WeightStats. stats() is thread-safe.
class RuntimeWeights : public WeightAccess {
 public:
  virtual WeightStats stats() const = 0;
};

}  // namespace flashslim
