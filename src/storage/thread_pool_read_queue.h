#pragma once
// ReadQueue for backends without native async I/O: worker threads run
// Storage::read() for queued requests. Also the fallback when io_uring is
// unavailable.
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "storage/storage.h"

namespace flashslim::storage {

class ThreadPoolReadQueue final : public ReadQueue {
 public:
  // Starts min(threads, depth) workers reading from `storage`, which must
  // outlive the queue. REQUIRES: threads >= 1, depth >= 1.
  ThreadPoolReadQueue(const Storage& storage, unsigned threads, unsigned depth);
  // Drops requests no worker has started, waits for the running ones, joins.
  ~ThreadPoolReadQueue() override;

  void submit(const ReadRequest& request) override;
  ReadCompletion wait_one() override;
  std::optional<ReadCompletion> poll() override;
  unsigned in_flight() const override { return in_flight_; }
  unsigned capacity() const override { return depth_; }

 private:
  void work();
  ReadCompletion run(const ReadRequest& request) const;

  const Storage& storage_;
  const unsigned depth_;
  unsigned in_flight_ = 0;  // submitted and not yet reaped; owner thread only

  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable completion_ready_;
  std::deque<ReadRequest> pending_;      // guarded by mutex_
  std::deque<ReadCompletion> finished_;  // guarded by mutex_
  bool stopping_ = false;                // guarded by mutex_
  std::vector<std::thread> workers_;
};

}  // namespace flashslim::storage
