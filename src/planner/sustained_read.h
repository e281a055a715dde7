#pragma once
// The rate the streaming runtime's reads get over a run, as opposed to the
// read curve's short points: the runtime's own read setting (size x depth)
// read over many bytes, sampled several times through the profile. Stored as
// the profile's storage.sustained_read.
#include <cstdint>
#include <memory>
#include <string>

#include "planner/profile.h"
#include "planner/read_bandwidth.h"
#include "storage/storage.h"

namespace flashslim::planner {

class SustainedReadSampler {
 public:
  // Reads the data section of `path` (from `data_offset`, wrapping around),
  // `bytes_per_sample` per sample in reads of `read_bytes`, `depth` in flight.
  SustainedReadSampler(const std::string& path, uint64_t data_offset, uint64_t read_bytes,
                       uint32_t depth, uint64_t bytes_per_sample);

  // One sample, after evicting the file from the page cache. Nothing else of
  // the process runs meanwhile: beside all compute threads streaming memory
  // the reads were twice as slow (1.02-1.25 GB/s, alone 1.95-2.30: TinyLlama,
  // load average 6), and runs, whose compute leaves the I/O thread room, read
  // 2.14-2.27.
  void sample();

  const SustainedRead& result() const { return out_; }

 private:
  std::string path_;
  std::unique_ptr<storage::Storage> file_;
  ReadWindows reads_;   // the data section, in one window of a sample's reads
  uint64_t start_ = 0;  // file offset of the next read
  SustainedRead out_;
};

}  // namespace flashslim::planner
