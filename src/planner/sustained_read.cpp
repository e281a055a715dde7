#include "planner/sustained_read.h"

#include "core/error.h"
#include "planner/read_bandwidth.h"
#include "storage/page_cache.h"

namespace flashslim::planner {

SustainedReadSampler::SustainedReadSampler(const std::string& path, uint64_t data_offset,
                                           uint64_t read_bytes, uint32_t depth,
                                           uint64_t bytes_per_sample)
    : path_(path), file_(storage::open_storage(path, storage::StorageKind::UringDirect)) {
  const uint64_t align = file_->alignment();
  reads_ = data_section_reads(*file_, data_offset);
  start_ = reads_.begin;
  if (read_bytes == 0 || read_bytes % align)
    fail("sustained read: read size {} is not a positive multiple of {}", read_bytes, align);
  if (bytes_per_sample < read_bytes)
    fail("sustained read: {} bytes per sample is less than one read of {}", bytes_per_sample,
         read_bytes);
  out_.read_bytes = read_bytes;
  out_.queue_depth = depth;
  out_.bytes_per_sample = bytes_per_sample / read_bytes * read_bytes;
  reads_.read_bytes = read_bytes;
  reads_.depth = depth;
  reads_.reads_per_window = bytes_per_sample / read_bytes;
  reads_.windows = 1;
}

void SustainedReadSampler::sample() {
  storage::evict_file_from_page_cache(path_);
  out_.samples_gb_per_s.push_back(time_read_rate(*file_, reads_, start_));
}

}  // namespace flashslim::planner
