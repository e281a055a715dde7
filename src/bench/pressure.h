#pragma once
// Pressure stall information (/proc/pressure/{io,cpu,memory}, Linux >= 4.20): the share
// of time some (or all) runnable tasks were stalled on a resource. Read before and after
// a run; the difference of total_us is the stall time during the run.
#include <cstdint>
#include <optional>
#include <string_view>

namespace flashslim::bench {

struct PressureLine {
  double avg10 = 0, avg60 = 0, avg300 = 0;  // percent of wall time, decaying averages
  uint64_t total_us = 0;                    // cumulative stall time since boot
};

struct Pressure {
  PressureLine some;  // at least one task stalled
  PressureLine full;  // all non-idle tasks stalled (absent for cpu before Linux 5.13)
};

// Parses the text of a /proc/pressure file; throws Error if a line is malformed.
Pressure parse_pressure(std::string_view text);
// resource is "io", "cpu" or "memory"; std::nullopt if PSI is not available.
std::optional<Pressure> read_pressure(std::string_view resource);

}  // namespace flashslim::bench
