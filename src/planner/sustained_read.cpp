#include "planner/sustained_read.h"

#include "core/error.h"
#include "planner/read_bandwidth.h"
#include "storage/aligned_buffer.h"
#include "storage/page_cache.h"

namespace flashslim::planner {

SustainedReadSampler::SustainedReadSampler(const std::string& path, uint64_t data_offset,
                                           uint64_t read_bytes, uint32_t depth,
                                           uint64_t bytes_per_sample)
    : path_(path), file_(storage::open_storage(path, storage::StorageKind::UringDirect)) {
  const uint64_t align = file_->alignment();
  begin_ = storage::align_down(data_offset, align);
  end_ = storage::align_down(file_->size(), align);
  start_ = begin_;
  if (read_bytes == 0 || read_bytes % align)
    fail("sustained read: read size {} is not a positive multiple of {}", read_bytes, align);
  if (bytes_per_sample < read_bytes)
    fail("sustained read: {} bytes per sample is less than one read of {}", bytes_per_sample,
         read_bytes);
  out_.read_bytes = read_bytes;
  out_.queue_depth = depth;
  out_.bytes_per_sample = bytes_per_sample / read_bytes * read_bytes;
}

void SustainedReadSampler::sample() {
  storage::evict_file_from_page_cache(path_);
  const uint64_t reads = out_.bytes_per_sample / out_.read_bytes;
  const std::vector<uint64_t> ns = time_read_windows(
      *file_, {begin_, end_, out_.read_bytes, out_.queue_depth, reads, 1}, start_);
  out_.samples_gb_per_s.push_back(static_cast<double>(out_.bytes_per_sample) /
                                  static_cast<double>(ns[0]));
}

}  // namespace flashslim::planner
