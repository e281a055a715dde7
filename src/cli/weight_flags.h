#pragma once
// The weight options every command that evaluates a model takes: --mode,
// --budget, --policy, --mlock / --no-mlock. Register them on a subcommand,
// then turn the parsed flags into WeightOptions.
#include <CLI/CLI.hpp>
#include <string>

#include "runtime/weight_modes.h"

namespace flashslim::cli {

struct WeightFlags {
  std::string mode = "auto";
  std::string budget;  // empty: none
  std::string policy = "balanced";
  bool mlock = false;
  bool no_mlock = false;
};

void add_weight_flags(CLI::App& cmd, WeightFlags& flags);
// Error names the flag and value on bad input.
WeightOptions to_weight_options(const WeightFlags& flags);

}  // namespace flashslim::cli
