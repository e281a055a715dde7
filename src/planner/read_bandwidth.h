#pragma once
// The storage's read bandwidth curve, measured on the model file itself with
// the backend the streaming runtime uses (io_uring + O_DIRECT): sequential
// reads of each size at each queue depth.
#include <cstdint>
#include <string>
#include <vector>

#include "planner/profile.h"

namespace flashslim::planner {

struct ReadBandwidthOptions {
  std::vector<uint64_t> read_bytes;  // each a multiple of 4096
  std::vector<uint32_t> queue_depths;
  uint64_t bytes_per_point = 64ull << 20;  // read per (size, depth) point, at least
  bool evict_first = true;                 // evict the file from the page cache before each point
};

// Reads the data section of `path` (wrapping around) for every point. The
// backend in use is stored in `backend` (e.g. the pread-pool fallback).
StorageProfile measure_read_bandwidth(const std::string& path, uint64_t data_offset,
                                      const ReadBandwidthOptions& options);

}  // namespace flashslim::planner
