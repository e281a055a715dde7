#pragma once
// Background CPU load for contended-environment runs (seed 002 phase 4b): stress-ng
// busy-loops workers at a duty cycle (`--cpu N --cpu-load P`), started before the run
// and stopped after it (SIGTERM, then SIGKILL to its whole process group if it lingers)
// so no worker survives.
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>

#include "bench/child_process.h"

namespace flashslim::bench {

// Full path of an executable found in PATH, or std::nullopt.
std::optional<std::filesystem::path> find_in_path(const std::string& program);

class BackgroundLoad {
 public:
  // percent in (0, 100]; workers 0 = one per online CPU. Throws Error if stress-ng is not
  // installed ("apt-get install stress-ng") or exits at start (its stderr is quoted).
  BackgroundLoad(int percent, int workers);
  // Stops the load if still running.
  ~BackgroundLoad();
  BackgroundLoad(const BackgroundLoad&) = delete;
  BackgroundLoad& operator=(const BackgroundLoad&) = delete;

  // Stops the load now; returns what stress-ng and its workers used (user_s + sys_s is
  // the CPU time the load actually took).
  ChildResult stop();

 private:
  std::filesystem::path stderr_path_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace flashslim::bench
