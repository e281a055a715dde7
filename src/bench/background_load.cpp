#include "bench/background_load.h"

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "bench/kernel_file.h"
#include "core/error.h"

namespace flashslim::bench {
namespace {

namespace fs = std::filesystem;

// How long stress-ng gets to reject its arguments before the load can count as running.
constexpr std::chrono::milliseconds kStartupCheck{200};
constexpr std::chrono::milliseconds kStopGrace{3000};
// How long stress-ng gets to fork its workers; a cold start on a busy machine took
// over a second, and a run started before the workers exist would be measured unloaded.
constexpr std::chrono::milliseconds kWorkersStart{10000};

std::string file_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Processes in process group `group`, from field 5 of /proc/PID/stat (the text after
// the command name's closing parenthesis: state, ppid, pgrp).
int processes_in_group(pid_t group) {
  int count = 0;
  std::error_code ignored;
  for (const fs::directory_entry& entry : fs::directory_iterator("/proc", ignored)) {
    const std::optional<std::string> stat = try_read_kernel_file(entry.path() / "stat");
    if (!stat) continue;  // not a process, or it exited
    const size_t name_end = stat->rfind(')');
    if (name_end == std::string::npos) continue;
    std::istringstream fields(stat->substr(name_end + 1));
    char state = 0;
    long parent = 0, pgrp = 0;
    if (fields >> state >> parent >> pgrp && pgrp == group && state != 'Z') ++count;
  }
  return count;
}

}  // namespace

std::optional<fs::path> find_in_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    const size_t end = dirs.find(':');
    const fs::path candidate = fs::path(std::string(dirs.substr(0, end))) / program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (end == std::string_view::npos) break;
    dirs = dirs.substr(end + 1);
  }
  return std::nullopt;
}

BackgroundLoad::BackgroundLoad(int percent, int workers) {
  if (percent <= 0 || percent > 100) fail("background load {}% is outside (0, 100]", percent);
  const std::optional<fs::path> stress_ng = find_in_path("stress-ng");
  if (!stress_ng)
    fail(
        "stress-ng is not installed (apt-get install stress-ng): cannot generate {}% background "
        "CPU load",
        percent);
  stderr_path_ =
      fs::temp_directory_path() / ("flashslim-stress-ng-" + std::to_string(::getpid()) + ".err");
  ChildSpec spec;
  spec.argv = {stress_ng->string(),     "--cpu",  std::to_string(workers), "--cpu-load",
               std::to_string(percent), "--quiet"};
  spec.stdout_path = "/dev/null";
  spec.stderr_path = stderr_path_;
  spec.sample_period = std::chrono::milliseconds(0);
  process_ = std::make_unique<ChildProcess>(spec);
  // The load counts as applied once stress-ng's workers exist: the parent plus one
  // process per worker in its process group. Until then, an exit is a start failure.
  const int wanted =
      1 + (workers > 0 ? workers : static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN)));
  const auto deadline = std::chrono::steady_clock::now() + kWorkersStart;
  std::chrono::milliseconds poll = kStartupCheck;
  while (true) {
    if (process_->exited_within(poll)) {
      const ChildResult result = process_->wait();
      fail("stress-ng stopped at start ({}): {}", result.describe(), file_text(stderr_path_));
    }
    const int running = processes_in_group(process_->pid());
    if (running >= wanted) break;
    if (std::chrono::steady_clock::now() > deadline)
      fail("stress-ng started {} of {} workers within {} s", std::max(running - 1, 0), wanted - 1,
           kWorkersStart.count() / 1000);
    poll = std::chrono::milliseconds(20);
  }
}

BackgroundLoad::~BackgroundLoad() {
  if (!process_) return;
  try {
    stop();
  } catch (const Error& e) {
    std::fprintf(stderr, "warning: stopping background load: %s\n", e.what());
  }
}

ChildResult BackgroundLoad::stop() {
  if (!process_) fail("background load already stopped");
  // SIGTERM first: stress-ng then reaps its workers, so their CPU time shows up in its
  // rusage (the load actually applied). SIGKILL if it does not finish in time.
  process_->signal_group(SIGTERM);
  if (!process_->exited_within(kStopGrace)) process_->signal_group(SIGKILL);
  const ChildResult result = process_->wait();
  process_.reset();
  fs::remove(stderr_path_);
  return result;
}

}  // namespace flashslim::bench
