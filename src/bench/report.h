#pragma once
// `flashslim report`: turns a results directory (docs/experiments.md) into OUT_DIR/report.md
// and OUT_DIR/report.html with plots in OUT_DIR/plots/ (PNG, SVG, and the gnuplot script
// and data of each): per-token latency histograms, latency vs token position, RSS over
// time, mode comparison, tokens/s vs budget with the bound, degradation vs background
// load, and the criteria table, with the setup and provenance explained, so the report
// can be read without the code. The statistics are summarized anew from the runs and
// written to OUT_DIR/summary.json.
#include <filesystem>
#include <string>
#include <vector>

namespace flashslim::bench {

struct ReportOutcome {
  std::filesystem::path markdown, html;
  size_t plots = 0;
  // Plots that could not be drawn (gnuplot missing or failing), also stated in the report.
  std::vector<std::string> problems;
};

ReportOutcome write_report(const std::filesystem::path& results_dir,
                           const std::filesystem::path& out_dir);

}  // namespace flashslim::bench
