#include "bench/background_load.h"

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "core/error.h"

namespace flashslim::bench {
namespace {

namespace fs = std::filesystem;

// How long stress-ng gets to reject its arguments before the load counts as running.
constexpr std::chrono::milliseconds kStartupCheck{200};
constexpr std::chrono::milliseconds kStopGrace{3000};

std::string file_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
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
  if (process_->exited_within(kStartupCheck)) {
    const ChildResult result = process_->wait();
    fail("stress-ng stopped at start ({}): {}", result.describe(), file_text(stderr_path_));
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
