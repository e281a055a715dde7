#pragma once
// One benchmark run as a child process: placed in its memory cgroup and pinned to its
// CPUs before exec (so every byte and every cycle of its lifetime is counted), output
// captured to files, killed with its whole process group on timeout, and measured:
// exit status, wall/user/sys time, peak RSS, page faults, bytes read, RSS over time,
// I/O pressure before and after.
//
// Not thread-safe: a ChildProcess is started and waited for by one thread.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "bench/cgroup.h"
#include "bench/disk_activity.h"
#include "bench/pressure.h"
#include "bench/thread_sched.h"

namespace flashslim::bench {

struct ChildSpec {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH
  // Joined between fork and exec; must outlive the ChildProcess. nullptr: none.
  const MemoryCgroup* cgroup = nullptr;
  std::vector<int> cpus;                 // sched_setaffinity list; empty: inherit
  std::filesystem::path stdout_path;     // created/truncated; empty: inherit
  std::filesystem::path stderr_path;     // created/truncated; empty: inherit
  std::chrono::milliseconds timeout{0};  // 0: none; on expiry the process group gets SIGKILL
  // How often the resident set and /proc/PID/io are sampled (first right after start); 0: only
  // /proc/PID/io, at exit.
  std::chrono::milliseconds sample_period{10};
  // Also sampled with the first sample and then at least `activity_period` apart (the
  // per-thread files cost the most to read; 0: with every sample): each thread's
  // scheduler counters when sample_threads, and the disk `stat` file when given
  // (disk_activity.h).
  bool sample_threads = false;
  std::filesystem::path disk_stat_file;
  std::chrono::milliseconds activity_period{0};
};

struct RssSample {
  double time_s = 0;  // since the child was started
  uint64_t rss_bytes = 0;
};

struct ChildResult {
  pid_t pid = -1;
  bool exited = false;  // normal exit; otherwise killed by term_signal
  int exit_code = -1;
  int term_signal = 0;
  bool timed_out = false;
  // Killed by SIGKILL while the cgroup's oom_kill counter rose during the run.
  bool oom_killed = false;

  double wall_s = 0, user_s = 0, sys_s = 0;
  // CPU time the parent spent sampling the child (it competes with the child for CPUs).
  double sampler_cpu_s = 0;
  uint64_t max_rss_bytes = 0;  // from wait4 rusage (ru_maxrss)
  uint64_t minor_faults = 0, major_faults = 0;
  // /proc/PID/io at its last reading (taken after exit, before reaping): read_bytes is
  // what the block layer read for the process (page-cache hits excluded, mmap faults
  // included); rchar counts every byte returned by read-like system calls.
  uint64_t read_bytes = 0, rchar = 0;
  uint64_t inblock_bytes = 0;  // rusage ru_inblock × 512
  std::vector<RssSample> rss;
  std::vector<ThreadSample> threads;        // when ChildSpec::sample_threads
  std::vector<DiskSample> disk;             // when ChildSpec::disk_stat_file is set
  std::optional<CgroupMemoryUsage> cgroup;  // read after exit, when a cgroup was given
  std::optional<Pressure> io_pressure_before, io_pressure_after;

  bool succeeded() const { return exited && exit_code == 0; }
  // "exit 0", "exit 3", "killed by SIGKILL (out of memory)", "timed out after 5.0 s", ...
  std::string describe() const;
};

class ChildProcess {
 public:
  // Forks, places and starts the child. Throws Error if it cannot be started (fork,
  // cgroup placement, output files, affinity, exec), naming the step and the command.
  explicit ChildProcess(const ChildSpec& spec);
  // A child still running is killed with its process group and reaped.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Sends `signal` to the child's process group (the child and everything it forked).
  void signal_group(int signal) const;
  // Whether the child exits within `wait` (it is not reaped: call wait() for results).
  bool exited_within(std::chrono::milliseconds wait) const;
  // Samples until the child exits or the timeout kills it, then reaps it and kills any
  // processes it left behind in its group. Call once.
  ChildResult wait();

 private:
  ChildSpec spec_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  bool reaped_ = false;
  uint64_t oom_kills_before_ = 0;
  std::chrono::steady_clock::time_point start_;
  ChildResult result_;
};

// Starts the child and waits for it.
ChildResult run_child(const ChildSpec& spec);

}  // namespace flashslim::bench
