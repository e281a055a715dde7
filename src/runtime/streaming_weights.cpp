#include "runtime/streaming_weights.h"

#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "core/error.h"
#include "gguf/tensor_class.h"
#include "runtime/memory_budget.h"
#include "storage/io_stats.h"
#include "tensor/ggml_type.h"

namespace flashslim {

using storage::align_down;
using storage::align_up;

namespace {

std::string memlock_limit_text() {
  rlimit limit{};
  if (getrlimit(RLIMIT_MEMLOCK, &limit) != 0) return "unknown";
  if (limit.rlim_cur == RLIM_INFINITY) return "unlimited";
  return fmt::format("{} bytes", limit.rlim_cur);
}

uint64_t thread_cpu_ns() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<uint64_t>(t.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(t.tv_nsec);
}

}  // namespace

std::span<uint8_t> StreamingWeights::read_span(uint8_t* buffer, const AlignedRead& read) const {
  // Widened reads may pass the end of the file only as far as the storage's
  // own alignment allows (none for buffered backends).
  const uint64_t limit = align_up(storage_.size(), storage_.alignment());
  const uint64_t length =
      read.file_offset >= limit ? 0 : std::min<uint64_t>(read.length, limit - read.file_offset);
  return {buffer + read.buffer_offset, length};
}

StreamingWeights::StreamingWeights(const Model& model, const storage::Storage& storage,
                                   StreamPlan plan, const StreamingOptions& options)
    : model_(model),
      storage_(storage),
      plan_(std::move(plan)),
      options_(options),
      pool_(plan_.chunks.empty() ? 0 : plan_.n_slots, plan_.chunks.empty() ? 0 : plan_.slot_bytes),
      depth_time_{.ns = std::vector<uint64_t>(options_.prefetch ? options_.queue_depth + 1 : 0)} {
  // Heap memory freed while loading (model metadata, tokenizer, a parsed --plan
  // document, the automatic plan's candidates) stays resident unless given
  // back: the slots and resident rows used to reuse it, but huge-paged buffers
  // are mapped apart, and it would add to the peak (Llama-2-7B at 1 GiB:
  // +9 MiB VmHWM, over the budget).
  release_freed_heap();
  if (kStreamReadAlignment % storage_.alignment() != 0)
    fail("internal: storage {} needs {}-byte alignment, the runtime reads in {}",
         storage_.description(), storage_.alignment(), kStreamReadAlignment);
  validate_stream_plan(plan_, model_);
  for (const Chunk& c : plan_.chunks)
    chunk_layouts_.push_back(layout_reads(c.parts, kStreamReadAlignment, options_.max_read_bytes));
  chunk_slot_.assign(plan_.chunks.size(), -1);
  load_resident(options_.mlock);
  build_step_plans();
  const gguf::TensorInfo& embd = *model_.schedule().token_embd;
  gather_buffer_ = storage::AlignedBuffer(align_up(embd.row_bytes(), kStreamReadAlignment) +
                                          kStreamReadAlignment);
  if (options_.prefetch && !plan_.chunks.empty()) {
    io_thread_ = std::thread([this] { prefetch_loop(); });
    ::pthread_setname_np(io_thread_.native_handle(), "fs-prefetch");  // for per-thread stats
  }
}

StreamingWeights::~StreamingWeights() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  if (io_thread_.joinable()) io_thread_.join();
}

void StreamingWeights::load_resident(bool lock_memory) {
  const ReadLayout layout =
      layout_reads(plan_.resident, kStreamReadAlignment, options_.max_read_bytes);
  if (layout.buffer_bytes == 0) return;
  resident_buffer_ = storage::AlignedBuffer::huge_paged(layout.buffer_bytes);
  if (lock_memory) {
    if (mlock(resident_buffer_.data(), resident_buffer_.size()) != 0)
      fail(
          "cannot mlock {} bytes of resident weights: {} (RLIMIT_MEMLOCK is {}; raise it with "
          "`ulimit -l unlimited` or in /etc/security/limits.conf, run with CAP_IPC_LOCK, or pass "
          "--no-mlock to run unlocked)",
          resident_buffer_.size(), std::strerror(errno), memlock_limit_text());
    mlock_ok_ = true;
  }
  for (const AlignedRead& r : layout.reads) {
    try {
      storage_.read(r.file_offset, read_span(resident_buffer_.data(), r));
    } catch (const storage::ReadError& e) {
      fail("loading resident weights: {}", e.what());
    }
    bytes_read_ += r.length;
    ++reads_;
  }
  for (size_t i = 0; i < plan_.resident.size(); ++i)
    resident_rows_.emplace_back(plan_.resident[i],
                                resident_buffer_.data() + layout.part_offsets[i]);
}

void StreamingWeights::build_step_plans() {
  const auto& steps = model_.schedule().steps;
  steps_.resize(steps.size());
  for (size_t s = 0; s < steps.size(); ++s) {
    for (int k = 0; k < slot::kCount; ++k) {
      const gguf::TensorInfo* t = steps[s].tensors[k];
      if (!t) continue;
      std::vector<Piece>& pieces = steps_[s].pieces[k];
      for (const auto& [rows, data] : resident_rows_)
        if (rows.tensor == t->name) pieces.push_back({rows.row_begin, rows.row_end, data, -1, 0});
      for (const Chunk& c : plan_.chunks) {
        if (c.first_step > static_cast<int32_t>(s) || c.last_step < static_cast<int32_t>(s))
          continue;
        for (size_t p = 0; p < c.parts.size(); ++p)
          if (c.parts[p].tensor == t->name)
            pieces.push_back({c.parts[p].row_begin, c.parts[p].row_end, nullptr, c.id,
                              chunk_layouts_[c.id].part_offsets[p]});
      }
      std::sort(pieces.begin(), pieces.end(),
                [](const Piece& a, const Piece& b) { return a.row_begin < b.row_begin; });
    }
  }
  for (const Chunk& c : plan_.chunks) {
    steps_[c.first_step].chunks_taken.push_back(c.id);
    steps_[c.last_step].chunks_released.push_back(c.id);
  }
}

StepWeights StreamingWeights::acquire(int32_t step_index) {
  const StepPlan& sp = steps_.at(step_index);
  for (int32_t chunk : sp.chunks_taken) {
    const int64_t sequence = next_take_;
    if (sequence % static_cast<int64_t>(plan_.chunks.size()) != chunk)
      fail("internal: step {} acquired out of schedule order (chunk {} expected, {} next)",
           step_index, chunk, sequence % static_cast<int64_t>(plan_.chunks.size()));
    if (!options_.prefetch) read_chunk_now(sequence);
    take_chunk(sequence);
    chunk_slot_[chunk] = static_cast<int32_t>(sequence % plan_.n_slots);
    ++next_take_;
  }
  const Step& step = model_.schedule().steps[step_index];
  StepWeights w;
  for (int k = 0; k < slot::kCount; ++k) {
    if (!step.tensors[k]) continue;
    WeightView& v = w.tensors[k];
    v.info = step.tensors[k];
    for (const Piece& p : sp.pieces[k]) {
      const uint8_t* data = p.resident;
      if (!data) {
        const int32_t slot = chunk_slot_[p.chunk];
        if (slot < 0)
          fail("internal: step {} uses chunk {}, which is not held", step_index, p.chunk);
        data = pool_.data(slot) + p.slot_offset;
      }
      v.parts[v.n_parts++] = RowRange{p.row_begin, p.row_end, data};
    }
  }
  return w;
}

void StreamingWeights::release(int32_t step_index) {
  const StepPlan& sp = steps_.at(step_index);
  if (sp.chunks_released.empty()) return;
  {
    std::lock_guard lock(mutex_);
    for (int32_t chunk : sp.chunks_released) {
      pool_.give_back(chunk_slot_[chunk]);
      chunk_slot_[chunk] = -1;
    }
  }
  changed_.notify_all();
}

void StreamingWeights::take_chunk(int64_t sequence) {
  const int32_t slot = static_cast<int32_t>(sequence % plan_.n_slots);
  std::unique_lock lock(mutex_);
  if (sequence > demand_) {
    demand_ = sequence;
    changed_.notify_all();
  }
  if (error_.empty() && !pool_.ready(slot, sequence)) {
    const uint64_t start = storage::now_ns();
    changed_.wait(lock, [&] { return !error_.empty() || pool_.ready(slot, sequence); });
    if (options_.prefetch) {
      ++stalls_;
      stall_ns_ += storage::now_ns() - start;
    }
  }
  if (!error_.empty()) throw Error(error_);
  pool_.take(slot, sequence);
}

void StreamingWeights::read_chunk_now(int64_t sequence) {
  const int32_t slot = static_cast<int32_t>(sequence % plan_.n_slots);
  const int32_t chunk = static_cast<int32_t>(sequence % static_cast<int64_t>(plan_.chunks.size()));
  uint8_t* dst;
  {
    std::lock_guard lock(mutex_);
    pool_.start_fill(slot, sequence);
    dst = pool_.data(slot);
  }
  // In sync mode the whole read is a wait of the compute.
  const uint64_t start = storage::now_ns();
  for (const AlignedRead& r : chunk_layouts_[chunk].reads) {
    try {
      storage_.read(r.file_offset, read_span(dst, r));
    } catch (const storage::ReadError& e) {
      fail("streaming {}: {}: {}", storage_.path(), describe_read(chunk, r), e.what());
    }
    bytes_read_ += r.length;
    ++reads_;
  }
  const uint64_t ns = storage::now_ns() - start;
  ++stalls_;
  stall_ns_ += ns;
  sync_read_ns_ += ns;
  ++chunks_loaded_;
  std::lock_guard lock(mutex_);
  pool_.finish_fill(slot);
}

bool StreamingWeights::can_issue(int64_t sequence) const {
  return sequence <= demand_ + plan_.window &&
         pool_.state(static_cast<int32_t>(sequence % plan_.n_slots)) == SlotState::Empty;
}

void StreamingWeights::prefetch_loop() {
  const int64_t n_chunks = static_cast<int64_t>(plan_.chunks.size());
  // A read in the queue's tag: slot in the high half, read index in the low half.
  struct Pending {
    int32_t slot;
    uint32_t read;
  };
  std::vector<Pending> to_submit;  // front = next
  size_t submit_next = 0;
  std::vector<uint32_t> reads_left(plan_.n_slots, 0);
  std::vector<int32_t> slot_chunk(plan_.n_slots, -1);
  int64_t issue = 0;  // sequence number of the next chunk to read
  // The queue's depth becomes `depth`: the time since the last change goes to
  // the depth the queue had during it.
  auto depth_lap = [&](unsigned depth) {
    const uint64_t now = storage::now_ns();
    std::lock_guard lock(depth_mutex_);
    if (depth_time_.since != 0) depth_time_.ns[depth_time_.depth] += now - depth_time_.since;
    depth_time_.depth = depth;
    depth_time_.since = now;
  };
  auto set_error = [&](std::string message) {
    {
      std::lock_guard lock(mutex_);
      if (error_.empty()) error_ = std::move(message);
    }
    changed_.notify_all();
  };
  try {
    const auto queue = storage_.make_queue(options_.queue_depth);
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        for (;;) {
          if (stop_) return;
          while (can_issue(issue)) {
            const int32_t slot = static_cast<int32_t>(issue % plan_.n_slots);
            const int32_t chunk = static_cast<int32_t>(issue % n_chunks);
            pool_.start_fill(slot, issue);
            slot_chunk[slot] = chunk;
            const auto& reads = chunk_layouts_[chunk].reads;
            reads_left[slot] = static_cast<uint32_t>(reads.size());
            for (uint32_t r = 0; r < reads.size(); ++r) to_submit.push_back({slot, r});
            ++issue;
          }
          if (submit_next < to_submit.size() || queue->in_flight() > 0) break;
          changed_.wait(lock);
        }
      }
      while (submit_next < to_submit.size() && queue->in_flight() < queue->capacity()) {
        const Pending p = to_submit[submit_next++];
        const AlignedRead& r = chunk_layouts_[slot_chunk[p.slot]].reads[p.read];
        depth_lap(queue->in_flight() + 1);
        queue->submit({r.file_offset, read_span(pool_.data(p.slot), r),
                       (static_cast<uint64_t>(p.slot) << 32) | p.read});
      }
      if (submit_next == to_submit.size()) {
        to_submit.clear();
        submit_next = 0;
      }
      if (queue->in_flight() == 0) continue;
      const unsigned depth = queue->in_flight();
      const storage::ReadCompletion done = queue->wait_one();
      depth_lap(depth - 1);
      io_cpu_ns_ = thread_cpu_ns();
      const int32_t slot = static_cast<int32_t>(done.tag >> 32);
      const int32_t chunk = slot_chunk[slot];
      const AlignedRead& r = chunk_layouts_[chunk].reads[done.tag & 0xffffffffu];
      if (!done.ok()) {
        set_error(fmt::format("streaming {}: {}: {}", storage_.path(), describe_read(chunk, r),
                              done.error));
        return;  // the queue's destructor waits for the reads still in flight
      }
      bytes_read_ += r.length;
      ++reads_;
      if (--reads_left[slot] == 0) {
        ++chunks_loaded_;
        {
          std::lock_guard lock(mutex_);
          pool_.finish_fill(slot);
        }
        changed_.notify_all();
      }
    }
  } catch (const std::exception& e) {
    set_error(fmt::format("streaming {}: {}", storage_.path(), e.what()));
  }
}

std::string StreamingWeights::describe_read(int32_t chunk, const AlignedRead& read) const {
  std::string out;
  for (const TensorRows& p : plan_.chunks[chunk].parts) {
    if (p.file_offset + p.bytes <= read.file_offset ||
        p.file_offset >= read.file_offset + read.length)
      continue;
    out += fmt::format("{}{} rows {}..{} at file offset {}", out.empty() ? "" : ", ", p.tensor,
                       p.row_begin, p.row_end, p.file_offset);
  }
  return fmt::format("reading {} (chunk {}, {} bytes at offset {})", out, chunk, read.length,
                     read.file_offset);
}

void StreamingWeights::gather_rows(const gguf::TensorInfo& table, std::span<const int32_t> ids,
                                   float* out) {
  const TypeTraits& traits = type_traits(table.type);
  const uint64_t row_bytes = table.row_bytes();
  for (size_t i = 0; i < ids.size(); ++i) {
    const int64_t row = ids[i];
    const uint8_t* data = nullptr;
    for (const auto& [rows, base] : resident_rows_)
      if (rows.tensor == table.name && row >= rows.row_begin && row < rows.row_end)
        data = base + (row - rows.row_begin) * row_bytes;
    if (!data) {
      const uint64_t offset = table.offset + row * row_bytes;
      const uint64_t begin = align_down(offset, kStreamReadAlignment);
      const AlignedRead read{begin, align_up(offset + row_bytes, kStreamReadAlignment) - begin, 0};
      const std::span<uint8_t> dst = read_span(gather_buffer_.data(), read);
      try {
        storage_.read(begin, dst);
      } catch (const storage::ReadError& e) {
        fail("reading {} row {} at file offset {}: {}", table.name, row, offset, e.what());
      }
      bytes_read_ += dst.size();
      ++reads_;
      data = gather_buffer_.data() + (offset - begin);
    }
    traits.to_float(data, out + i * table.cols(), table.cols());
  }
}

WeightStats StreamingWeights::stats() const {
  WeightStats s;
  s.bytes_read = bytes_read_;
  s.reads = reads_;
  s.chunks_loaded = chunks_loaded_;
  s.stalls = stalls_;
  s.stall_ns = stall_ns_;
  {
    std::lock_guard lock(depth_mutex_);
    s.in_flight_ns = depth_time_.ns;
    if (depth_time_.since != 0 && depth_time_.depth > 0)
      s.in_flight_ns[depth_time_.depth] += storage::now_ns() - depth_time_.since;
  }
  // Prefetching: busy = time with 1 or more reads in flight; sync loads add
  // their own read time.
  s.io_busy_ns = sync_read_ns_;
  for (size_t k = 1; k < s.in_flight_ns.size(); ++k) s.io_busy_ns += s.in_flight_ns[k];
  s.io_cpu_ns = io_cpu_ns_;
  s.resident_bytes = resident_buffer_.size();
  s.slot_bytes = static_cast<uint64_t>(pool_.size()) * pool_.slot_bytes();
  for (const TensorRows& r : plan_.resident)
    s.resident_by_class[gguf::tensor_class_name(gguf::classify(r.tensor))] += r.bytes;
  s.mlock_ok = mlock_ok_;
  s.storage = storage_.description();
  return s;
}

}  // namespace flashslim
