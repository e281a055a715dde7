#pragma once
// Per-thread scheduler counters of a child process, sampled from outside while it runs:
// CPU time and run-queue delay (/proc/PID/task/TID/schedstat: time on a CPU, time
// runnable but waiting for one) and context switches (status: voluntary = the thread
// blocked, involuntary = it was preempted). They show whether a thread (the stream
// runtime's I/O thread above all) waited for a CPU during slow tokens. Threads are told
// apart by the names the runtime gives them (comm): see thread_kind.
//
// threads.csv (one line per thread per sample):
//   t_ns,tid,kind,comm,cpu_ns,runq_wait_ns,voluntary_switches,involuntary_switches
// t_ns is CLOCK_MONOTONIC (steady_clock), the clock of the child's token log origin.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace flashslim::bench {

struct ThreadSample {
  uint64_t t_ns = 0;
  int tid = 0;
  std::string kind;  // thread_kind
  std::string comm;
  uint64_t cpu_ns = 0, runq_wait_ns = 0;  // cumulative since the thread started
  uint64_t voluntary_switches = 0, involuntary_switches = 0;
};

// What a thread of the process `pid` does, from its name: "main" (tid == pid: the CLI
// thread, which is also compute worker 0), "fs-compute" (thread-pool workers),
// "fs-prefetch" (the stream runtime's I/O thread), "fs-read" (read-queue workers),
// "iou-wrk" (io_uring's kernel workers, which issue reads that would block), or "other".
std::string thread_kind(pid_t pid, int tid, std::string_view comm);
// Compute threads (main, fs-compute) and I/O threads (fs-prefetch, fs-read, iou-wrk).
bool is_compute_kind(std::string_view kind);
bool is_io_kind(std::string_view kind);

// Samples the threads of one process. Not thread-safe.
class ThreadSampler {
 public:
  explicit ThreadSampler(pid_t pid);
  // Appends one sample per thread taken at `t_ns`; threads that exit while being read are
  // left out. Nothing when the process is gone.
  void sample(uint64_t t_ns, std::vector<ThreadSample>& out);

 private:
  pid_t pid_;
  std::filesystem::path tasks_;  // /proc/PID/task
  // comm per tid, read again only while the name says nothing (a thread is named just
  // after it starts); saves a read per thread per sample.
  std::map<int, std::string> names_;
};

void write_thread_csv(const std::filesystem::path& path, std::span<const ThreadSample> samples);
// Throws Error naming the file and line on malformed lines.
std::vector<ThreadSample> read_thread_csv(const std::filesystem::path& path);

// Growth of a group of threads' counters over a time window.
struct SchedGrowth {
  int threads = 0;
  double cpu_ms = 0, runq_wait_ms = 0;
  double voluntary_switches = 0, involuntary_switches = 0;
};

// The samples as one cumulative series per thread, so windows (a token, the decode
// phase) can be measured without re-sorting.
class ThreadSchedSeries {
 public:
  explicit ThreadSchedSeries(std::span<const ThreadSample> samples);
  bool empty() const { return threads_.empty(); }
  // Per thread kind, the growth between from_ns and to_ns (counter_growth of each thread).
  std::map<std::string, SchedGrowth> by_kind(uint64_t from_ns, uint64_t to_ns) const;

 private:
  struct Thread {
    std::string kind;
    std::vector<uint64_t> t_ns;
    std::vector<double> cpu_ns, runq_wait_ns, voluntary, involuntary;
  };
  std::map<int, Thread> threads_;  // by tid
};

// Sums the kinds for which `member(kind)` holds.
SchedGrowth sum_kinds(const std::map<std::string, SchedGrowth>& by_kind,
                      bool (*member)(std::string_view kind));

}  // namespace flashslim::bench
