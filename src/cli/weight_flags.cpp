#include "cli/weight_flags.h"

#include "core/error.h"

namespace flashslim::cli {

void add_weight_flags(CLI::App& cmd, WeightFlags& flags) {
  cmd.add_option("--mode", flags.mode,
                 "How weights reach memory: auto (resident if it fits --budget, else stream), "
                 "resident, mmap (OS page faults), sync (pread each chunk before use), stream "
                 "(io_uring O_DIRECT prefetch)");
  cmd.add_option("--budget", flags.budget,
                 "Memory the whole process may use: bytes with K/M/G suffix, or a percentage of "
                 "the model file (e.g. 160M, 25%)");
  cmd.add_option("--policy", flags.policy,
                 "Resident weights under a budget: balanced (same share of every layer), flexible "
                 "(FFN first at high budgets, attention first at low), layers (whole layers)");
  auto* lock = cmd.add_flag("--mlock", flags.mlock,
                            "Lock resident weights in memory (default in sync/stream mode)");
  cmd.add_flag("--no-mlock", flags.no_mlock, "Do not lock resident weights")->excludes(lock);
}

WeightOptions to_weight_options(const WeightFlags& flags) {
  WeightOptions o;
  o.mode = parse_weight_mode(flags.mode);
  if (!flags.budget.empty()) {
    try {
      o.budget = parse_size_spec(flags.budget);
    } catch (const Error& e) {
      fail("--budget {}", e.what());
    }
  }
  o.policy = parse_residency_policy(flags.policy);
  if (flags.mlock) o.mlock = true;
  if (flags.no_mlock) o.mlock = false;
  return o;
}

}  // namespace flashslim::cli
