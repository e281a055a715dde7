#pragma once
// The streaming runtime (Flash-SLiM's weight-chunk controller and prefetcher,
// FlexInfer's locked residency): executes a StreamPlan over a Storage.
// - Resident rows are read once at construction into one aligned buffer,
//   mlocked on request.
// - Chunks are read into a ring of slots (SlotPool). In prefetch mode an I/O
//   thread reads ahead in execution order, cyclically across passes, up to
//   `window` chunks past the newest one the compute asked for, keeping up to
//   queue_depth reads in flight; acquire() waits only for a chunk not yet
//   READY, and counts and times the wait. Without prefetch (sync mode) the
//   calling thread preads each chunk right before its step.
// - The embedding gather reads only the rows of the current tokens (from the
//   resident rows when they are kept, else one aligned read per row).
// A failed read ends the pass with an Error naming the tensor, rows and file
// offset; the I/O thread stops and is joined by the destructor.
// Like every WeightAccess, driven by one thread; stats() may be called anywhere.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "model/model.h"
#include "runtime/read_layout.h"
#include "runtime/slot_pool.h"
#include "runtime/stream_plan.h"
#include "runtime/weight_stats.h"
#include "storage/storage.h"

namespace flashslim {

struct StreamingOptions {
  bool prefetch = true;      // false: sync mode (read each chunk right before use)
  bool mlock = false;        // lock resident weights; failure is an Error naming RLIMIT_MEMLOCK
  unsigned queue_depth = 8;  // reads in flight (prefetch mode)
  uint64_t max_read_bytes = 1 << 20;  // larger reads are split (power of two)
};

class StreamingWeights final : public RuntimeWeights {
 public:
  // Validates the plan, reads the resident rows, starts the I/O thread.
  // `model` and `storage` must outlive this object; storage.alignment() must
  // divide kStreamReadAlignment.
  StreamingWeights(const Model& model, const storage::Storage& storage, StreamPlan plan,
                   const StreamingOptions& options);
  ~StreamingWeights() override;
  StreamingWeights(const StreamingWeights&) = delete;
  StreamingWeights& operator=(const StreamingWeights&) = delete;

  void begin_pass(int32_t) override {}
  StepWeights acquire(int32_t step_index) override;
  void release(int32_t step_index) override;
  void gather_rows(const gguf::TensorInfo& table, std::span<const int32_t> ids,
                   float* out) override;
  void end_pass() override {}
  WeightStats stats() const override;

  const StreamPlan& plan() const { return plan_; }

 private:
  // One piece of a tensor as a step sees it: rows from the resident buffer,
  // or from a chunk's slot at an offset.
  struct Piece {
    int64_t row_begin = 0;
    int64_t row_end = 0;
    const uint8_t* resident = nullptr;
    int32_t chunk = -1;
    uint64_t slot_offset = 0;
  };
  struct StepPlan {
    std::array<std::vector<Piece>, slot::kCount> pieces;  // by tensor slot, in row order
    std::vector<int32_t> chunks_taken;                    // chunks whose first step this is
    std::vector<int32_t> chunks_released;                 // chunks whose last step this is
  };

  void load_resident(bool lock_memory);
  void build_step_plans();
  // Blocks until chunk number `sequence` is READY in its slot, then takes it.
  void take_chunk(int64_t sequence);
  void read_chunk_now(int64_t sequence);  // sync mode
  void prefetch_loop();
  bool can_issue(int64_t sequence) const;  // REQUIRES mutex_
  // "blk.3.attn_q.weight rows 0..1024 at file offset N" for the parts a read touches.
  // Where `read` lands in `buffer`, cut at the end of the file as the storage requires.
  std::span<uint8_t> read_span(uint8_t* buffer, const AlignedRead& read) const;
  std::string describe_read(int32_t chunk, const AlignedRead& read) const;

  const Model& model_;
  const storage::Storage& storage_;
  const StreamPlan plan_;
  const StreamingOptions options_;
  std::vector<ReadLayout> chunk_layouts_;
  std::vector<StepPlan> steps_;

  storage::AlignedBuffer resident_buffer_;
  std::vector<std::pair<TensorRows, const uint8_t*>> resident_rows_;  // and where they are
  bool mlock_ok_ = false;
  storage::AlignedBuffer gather_buffer_;  // one embedding row read with O_DIRECT

  // Compute-thread state.
  int64_t next_take_ = 0;            // sequence number of the next chunk to take
  std::vector<int32_t> chunk_slot_;  // slot of each chunk while IN_USE, else -1

  // Shared with the I/O thread, guarded by mutex_.
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  SlotPool pool_;
  int64_t demand_ = -1;  // newest sequence number the compute asked for
  bool stop_ = false;
  std::string error_;  // first I/O error; ends streaming

  std::atomic<uint64_t> bytes_read_{0}, reads_{0}, chunks_loaded_{0}, stalls_{0}, stall_ns_{0},
      sync_read_ns_{0}, io_cpu_ns_{0};  // sync_read_ns_: time in sync loads
  // Time at each queue depth, lapped by the I/O thread when the depth changes;
  // stats() counts the period still open up to now, so a token's busy time is
  // its own and not credited to the token in which the depth next changes.
  struct DepthTime {
    std::vector<uint64_t> ns;  // [k]: time with k reads in flight
    unsigned depth = 0;        // the depth since `since`
    uint64_t since = 0;        // monotonic ns of the last change (0: no read yet)
  };
  mutable std::mutex depth_mutex_;
  DepthTime depth_time_;  // guarded by depth_mutex_
  std::thread io_thread_;
};

}  // namespace flashslim
