#pragma once
// Where a result came from: the build (git commit, flags), the machine (CPU model and
// flags, kernel), and when. Written into every summary so a figure can be traced back.
#include <nlohmann/json.hpp>
#include <string>

namespace flashslim::bench {

struct Provenance {
  std::string git_commit;   // FLASHSLIM_GIT_COMMIT, set by CMake at configure time
  std::string build_flags;  // FLASHSLIM_BUILD_FLAGS
  std::string cpu_model;    // "model name" of /proc/cpuinfo
  std::string cpu_flags;    // "flags" (x86) or "Features" (arm) of /proc/cpuinfo
  int online_cpus = 0;
  std::string kernel;  // uname: sysname release version machine
  std::string hostname;
  std::string date;  // ISO-8601 UTC, e.g. 2025-01-31T12:00:00Z
};

Provenance collect_provenance();
nlohmann::json to_json(const Provenance& provenance);

// Now as ISO-8601 UTC with seconds ("2025-01-31T12:00:00Z").
std::string iso8601_utc_now();

}  // namespace flashslim::bench
