// flashslim report: a results directory of `flashslim bench --out-dir` → Markdown and HTML
// report with plots.
#include <cstdio>

#include "bench/report.h"
#include "cli/commands.h"

namespace flashslim::cli {

void register_report_command(CLI::App& app) {
  struct Flags {
    std::string results_dir, out_dir;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "report", "Turn an experiment's results directory into report.md and report.html with plots");
  cmd->add_option("RESULTS_DIR", f->results_dir, "Results directory of `flashslim bench --out-dir`")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("-o,--output", f->out_dir, "Directory for the report and its plots")->required();
  cmd->callback([f] {
    const bench::ReportOutcome outcome = bench::write_report(f->results_dir, f->out_dir);
    std::printf("report: %s, %s (%zu plots)\n", outcome.markdown.c_str(), outcome.html.c_str(),
                outcome.plots);
    for (const std::string& problem : outcome.problems)
      std::fprintf(stderr, "report: warning: %s\n", problem.c_str());
  });
}

}  // namespace flashslim::cli
