#include "bench/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>

#include "bench/kernel_file.h"
#include "core/error.h"

namespace flashslim::bench {
namespace {

using Clock = std::chrono::steady_clock;

// What the child failed at between fork and exec, sent to the parent through a
// close-on-exec pipe (the pipe closes without data when exec succeeds).
enum class ChildStage : int { stdout_file, stderr_file, affinity, exec };

struct ChildFailure {
  ChildStage stage;
  int error;
};

const char* stage_name(ChildStage stage) {
  switch (stage) {
    case ChildStage::stdout_file:
      return "open stdout file";
    case ChildStage::stderr_file:
      return "open stderr file";
    case ChildStage::affinity:
      return "set CPU affinity";
    case ChildStage::exec:
      return "exec";
  }
  return "start";
}

std::string command_line(const std::vector<std::string>& argv) {
  std::string line;
  for (const std::string& arg : argv) line += (line.empty() ? "" : " ") + arg;
  return line;
}

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
double seconds(const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec * 1e-6; }

// Only async-signal-safe calls from here on: the parent may have other threads.
[[noreturn]] void child_fail(int error_fd, ChildStage stage) {
  const ChildFailure failure{stage, errno};
  [[maybe_unused]] const ssize_t n = ::write(error_fd, &failure, sizeof failure);
  ::_exit(127);
}

void redirect(int target_fd, const char* path, int error_fd, ChildStage stage) {
  const int fd = ::open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || ::dup2(fd, target_fd) < 0) child_fail(error_fd, stage);
  ::close(fd);
}

// Resident set of /proc/PID/statm in bytes (the VmRSS of status, which costs the kernel
// twice as much to format); std::nullopt once the process has no memory (exited) or is
// gone.
std::optional<uint64_t> read_rss_bytes(pid_t pid) {
  const std::optional<std::string> statm =
      try_read_kernel_file("/proc/" + std::to_string(pid) + "/statm");
  if (!statm) return std::nullopt;
  const char* p = statm->data();
  const char* end = p + statm->size();
  uint64_t size_pages = 0, resident_pages = 0;
  const auto size = std::from_chars(p, end, size_pages);
  if (size.ec != std::errc() || size.ptr == end) return std::nullopt;
  if (std::from_chars(size.ptr + 1, end, resident_pages).ec != std::errc() || resident_pages == 0)
    return std::nullopt;
  return resident_pages * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

double thread_cpu_s() {
  rusage usage{};
  ::getrusage(RUSAGE_THREAD, &usage);
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace

std::string ChildResult::describe() const {
  if (timed_out) return fmt::format("timed out after {:.1f} s", wall_s);
  if (exited) return fmt::format("exit {}", exit_code);
  const char* name = ::sigabbrev_np(term_signal);
  return fmt::format("killed by SIG{}{}", name ? name : std::to_string(term_signal),
                     oom_killed ? " (out of memory)" : "");
}

ChildProcess::ChildProcess(const ChildSpec& spec) : spec_(spec) {
  if (spec_.argv.empty()) fail("child process: empty command");
  std::vector<char*> argv;
  for (std::string& arg : spec_.argv) argv.push_back(arg.data());
  argv.push_back(nullptr);
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  for (int cpu : spec_.cpus) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) fail("child process: CPU {} is out of range", cpu);
    CPU_SET(cpu, &cpus);
  }
  const std::string command = command_line(spec_.argv);

  int go[2], errors[2];
  if (::pipe2(go, O_CLOEXEC) != 0 || ::pipe2(errors, O_CLOEXEC) != 0)
    fail("cannot start '{}': pipe: {}", command, std::strerror(errno));
  result_.io_pressure_before = read_pressure("io");
  if (spec_.cgroup) oom_kills_before_ = spec_.cgroup->usage().oom_kills;

  pid_ = ::fork();
  if (pid_ < 0) fail("cannot start '{}': fork: {}", command, std::strerror(errno));
  if (pid_ == 0) {
    ::close(go[1]);
    ::close(errors[0]);
    ::setpgid(0, 0);
    char byte;
    if (::read(go[0], &byte, 1) != 1) ::_exit(126);  // the parent gave up on placement
    if (!spec_.stdout_path.empty())
      redirect(STDOUT_FILENO, spec_.stdout_path.c_str(), errors[1], ChildStage::stdout_file);
    if (!spec_.stderr_path.empty())
      redirect(STDERR_FILENO, spec_.stderr_path.c_str(), errors[1], ChildStage::stderr_file);
    if (!spec_.cpus.empty() && ::sched_setaffinity(0, sizeof cpus, &cpus) != 0)
      child_fail(errors[1], ChildStage::affinity);
    ::execvp(argv[0], argv.data());
    child_fail(errors[1], ChildStage::exec);
  }

  ::close(go[0]);
  ::close(errors[1]);
  ::setpgid(pid_, pid_);  // also done by the child; whichever runs first wins the race
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  try {
    if (pidfd_ < 0) fail("cannot start '{}': pidfd_open: {}", command, std::strerror(errno));
    if (spec_.cgroup) spec_.cgroup->add_process(pid_);
  } catch (...) {
    ::close(go[1]);
    ::close(errors[0]);
    ::waitpid(pid_, nullptr, 0);
    reaped_ = true;
    throw;
  }
  start_ = Clock::now();
  [[maybe_unused]] const ssize_t sent = ::write(go[1], "g", 1);
  ::close(go[1]);

  ChildFailure failure{};
  ssize_t n;
  do n = ::read(errors[0], &failure, sizeof failure);
  while (n < 0 && errno == EINTR);
  ::close(errors[0]);
  if (n == static_cast<ssize_t>(sizeof failure)) {
    ::waitpid(pid_, nullptr, 0);
    reaped_ = true;
    fail("cannot start '{}': {}: {}", command, stage_name(failure.stage),
         std::strerror(failure.error));
  }
}

ChildProcess::~ChildProcess() {
  if (!reaped_ && pid_ > 0) {
    signal_group(SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (pidfd_ >= 0) ::close(pidfd_);
}

void ChildProcess::signal_group(int signal) const {
  if (::kill(-pid_, signal) != 0 && errno != ESRCH) ::kill(pid_, signal);
}

bool ChildProcess::exited_within(std::chrono::milliseconds wait) const {
  pollfd fd{pidfd_, POLLIN, 0};
  return ::poll(&fd, 1, static_cast<int>(wait.count())) > 0;
}

ChildResult ChildProcess::wait() {
  if (reaped_) fail("child process {}: wait() called twice", pid_);
  const std::string io_path = "/proc/" + std::to_string(pid_) + "/io";
  auto sample_io = [&] {
    if (const std::optional<std::string> io = try_read_kernel_file(io_path)) {
      result_.read_bytes = find_keyed_u64(*io, "read_bytes").value_or(result_.read_bytes);
      result_.rchar = find_keyed_u64(*io, "rchar").value_or(result_.rchar);
    }
  };
  const double cpu_before = thread_cpu_s();
  ThreadSampler threads(pid_);
  std::optional<Clock::time_point> last_activity;
  auto sample = [&](Clock::time_point now) {
    if (const std::optional<uint64_t> rss = read_rss_bytes(pid_))
      result_.rss.push_back({seconds(now - start_), *rss});
    sample_io();
    if (last_activity && now - *last_activity < spec_.activity_period) return;
    last_activity = now;
    const auto now_ns = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count());
    if (spec_.sample_threads) threads.sample(now_ns, result_.threads);
    if (!spec_.disk_stat_file.empty())
      if (const std::optional<DiskSample> disk = sample_disk(spec_.disk_stat_file, now_ns))
        result_.disk.push_back(*disk);
  };
  // One sample right away, so even a run shorter than the period has an RSS curve.
  if (spec_.sample_period.count() > 0) sample(Clock::now());
  const bool has_deadline = spec_.timeout.count() > 0;
  const Clock::time_point deadline = start_ + spec_.timeout;

  for (;;) {
    int wait_ms =
        spec_.sample_period.count() > 0 ? static_cast<int>(spec_.sample_period.count()) : -1;
    if (has_deadline && !result_.timed_out) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      const int left_ms = static_cast<int>(std::max<int64_t>(left.count(), 0));
      wait_ms = wait_ms < 0 ? left_ms : std::min(wait_ms, left_ms);
    }
    pollfd fd{pidfd_, POLLIN, 0};
    const int ready = ::poll(&fd, 1, wait_ms);
    if (ready < 0 && errno != EINTR) fail("child process {}: poll: {}", pid_, std::strerror(errno));
    if (ready > 0) break;
    const Clock::time_point now = Clock::now();
    if (has_deadline && !result_.timed_out && now >= deadline) {
      result_.timed_out = true;
      signal_group(SIGKILL);
      continue;
    }
    if (spec_.sample_period.count() > 0) sample(now);
  }
  result_.pid = pid_;
  result_.wall_s = seconds(Clock::now() - start_);
  result_.sampler_cpu_s = thread_cpu_s() - cpu_before;
  // The exited child is a zombie until reaped: its I/O counters are still readable and
  // its pid (= process group id) cannot be reused, so stragglers can be killed safely.
  sample_io();
  signal_group(SIGKILL);

  int status = 0;
  rusage usage{};
  while (::wait4(pid_, &status, 0, &usage) < 0) {
    if (errno != EINTR) fail("child process {}: wait4: {}", pid_, std::strerror(errno));
  }
  reaped_ = true;
  result_.exited = WIFEXITED(status);
  result_.exit_code = result_.exited ? WEXITSTATUS(status) : -1;
  result_.term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  result_.user_s = seconds(usage.ru_utime);
  result_.sys_s = seconds(usage.ru_stime);
  result_.max_rss_bytes = static_cast<uint64_t>(usage.ru_maxrss) * 1024;  // ru_maxrss is KiB
  result_.minor_faults = static_cast<uint64_t>(usage.ru_minflt);
  result_.major_faults = static_cast<uint64_t>(usage.ru_majflt);
  result_.inblock_bytes = static_cast<uint64_t>(usage.ru_inblock) * 512;
  if (spec_.cgroup) {
    result_.cgroup = spec_.cgroup->usage();
    result_.oom_killed = result_.term_signal == SIGKILL && !result_.timed_out &&
                         result_.cgroup->oom_kills > oom_kills_before_;
  }
  result_.io_pressure_after = read_pressure("io");
  return result_;
}

ChildResult run_child(const ChildSpec& spec) {
  ChildProcess child(spec);
  return child.wait();
}

}  // namespace flashslim::bench
