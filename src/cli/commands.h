#pragma once
// Each subcommand lives in its own cmd_<name>.cpp and registers itself here.
#include <CLI/CLI.hpp>

namespace flashslim::cli {

void register_run_command(CLI::App& app);
void register_inspect_command(CLI::App& app);
void register_gen_model_command(CLI::App& app);
void register_tokenize_command(CLI::App& app);
void register_report_command(CLI::App& app);
void register_bench_command(CLI::App& app);
void register_profile_command(CLI::App& app);
void register_plan_command(CLI::App& app);

}  // namespace flashslim::cli
