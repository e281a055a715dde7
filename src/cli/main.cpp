// flashslim: one binary, one subcommand per task (see commands.h).
#include <cstdio>

#include "cli/commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"flashslim: LLM inference under a memory budget, streaming weights from flash"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for all subcommands");
  flashslim::cli::register_run_command(app);
  flashslim::cli::register_inspect_command(app);
  flashslim::cli::register_gen_model_command(app);
  flashslim::cli::register_tokenize_command(app);
  flashslim::cli::register_report_command(app);
  flashslim::cli::register_bench_command(app);
  flashslim::cli::register_profile_command(app);
  flashslim::cli::register_plan_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line naming the flag, like every other error.
    std::fprintf(stderr, "flashslim: error: %s (see --help)\n", e.what());
    return 2;
  } catch (const flashslim::Error& e) {
    std::fprintf(stderr, "flashslim: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "flashslim: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
