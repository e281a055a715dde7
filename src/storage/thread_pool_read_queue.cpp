#include "storage/thread_pool_read_queue.h"

#include <pthread.h>

#include <algorithm>
#include <cerrno>

namespace flashslim::storage {

ThreadPoolReadQueue::ThreadPoolReadQueue(const Storage& storage, unsigned threads, unsigned depth)
    : storage_(storage), depth_(depth) {
  if (threads == 0 || depth == 0)
    fail("read queue of {}: needs at least one thread and one slot", storage.path());
  unsigned count = std::min(threads, depth);
  workers_.reserve(count);
  for (unsigned i = 0; i < count; ++i) {
    workers_.emplace_back([this] { work(); });
    ::pthread_setname_np(workers_.back().native_handle(), "fs-read");  // for per-thread stats
  }
}

ThreadPoolReadQueue::~ThreadPoolReadQueue() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    pending_.clear();
  }
  work_ready_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

void ThreadPoolReadQueue::submit(const ReadRequest& request) {
  if (in_flight_ >= depth_) {
    fail("read queue of {} is full ({} reads in flight)", storage_.path(), in_flight_);
  }
  storage_.check_request(request.offset, request.dst.size(), request.dst.data());
  {
    std::lock_guard lock(mutex_);
    pending_.push_back(request);
  }
  ++in_flight_;
  work_ready_.notify_one();
}

ReadCompletion ThreadPoolReadQueue::wait_one() {
  if (in_flight_ == 0)
    fail("wait_one on the read queue of {} with no read in flight", storage_.path());
  std::unique_lock lock(mutex_);
  completion_ready_.wait(lock, [this] { return !finished_.empty(); });
  ReadCompletion completion = std::move(finished_.front());
  finished_.pop_front();
  --in_flight_;
  return completion;
}

std::optional<ReadCompletion> ThreadPoolReadQueue::poll() {
  std::lock_guard lock(mutex_);
  if (finished_.empty()) return std::nullopt;
  ReadCompletion completion = std::move(finished_.front());
  finished_.pop_front();
  --in_flight_;
  return completion;
}

void ThreadPoolReadQueue::work() {
  std::unique_lock lock(mutex_);
  while (true) {
    work_ready_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
    if (stopping_) return;
    ReadRequest request = pending_.front();
    pending_.pop_front();
    lock.unlock();
    ReadCompletion completion = run(request);
    lock.lock();
    finished_.push_back(std::move(completion));
    completion_ready_.notify_one();
  }
}

ReadCompletion ThreadPoolReadQueue::run(const ReadRequest& request) const {
  ReadCompletion completion;
  completion.tag = request.tag;
  try {
    storage_.read(request.offset, request.dst);
    uint64_t in_file = request.offset < storage_.size() ? storage_.size() - request.offset : 0;
    completion.bytes = std::min<uint64_t>(request.dst.size(), in_file);
  } catch (const ReadError& e) {
    completion.error_code = e.error_code();
    completion.error = e.what();
  } catch (const std::exception& e) {
    completion.error_code = EIO;  // not an OS error (e.g. out of memory); still a failed read
    completion.error = e.what();
  }
  return completion;
}

}  // namespace flashslim::storage
