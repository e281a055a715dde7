#pragma once
// Memory read bandwidth: the rate at which `pool` threads stream through a
// buffer larger than the last-level cache. A decode step that reads every
// resident weight once cannot run faster than weight bytes / this.
#include <cstdint>

#include "kernels/thread_pool.h"

namespace flashslim::planner {

// Last-level cache size of CPU 0 from sysfs, in bytes; 0 if unknown.
uint64_t last_level_cache_bytes();

// Best of `repeats` passes over a buffer of `buffer_bytes`, in GB/s.
double measure_memory_bandwidth(ThreadPool& pool, uint64_t buffer_bytes, int repeats);

}  // namespace flashslim::planner
