#pragma once
// Plots for experiment reports, drawn by gnuplot: for each plot STEM.dat (the data),
// STEM.gp (the script, re-runnable with `gnuplot STEM.gp` in its directory), STEM.png
// and STEM.svg. gnuplot must be installed (Debian: gnuplot-nox).
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace flashslim::bench {

enum class SeriesStyle { lines, points, linespoints, dashed };

struct Series {
  std::string title;
  std::vector<double> x, y;  // same length, at least one point
  SeriesStyle style = SeriesStyle::linespoints;
};

// y = slope · x + intercept across the whole plot: slope 0 draws a horizontal bound
// (e.g. tokens/s with all weights resident), otherwise a diagonal (e.g. linear
// degradation under load).
struct ReferenceLine {
  std::string title;
  double slope = 0;
  double intercept = 0;
};

struct LinePlot {
  std::string title, x_label, y_label;
  std::vector<Series> series;
  std::vector<ReferenceLine> lines;
  bool log_x = false, log_y = false;
};

struct Histogram {
  std::string title, x_label;
  std::vector<double> values;  // at least one
  int bins = 40;
  // Vertical dashed lines with labels, e.g. {"p50", 41.2}, {"p99", 57.0}.
  std::vector<std::pair<std::string, double>> markers;
};

// Throw Error if the data are malformed, gnuplot is missing, or gnuplot fails (with
// its error output).
void plot_lines(const LinePlot& plot, const std::filesystem::path& stem);
void plot_histogram(const Histogram& histogram, const std::filesystem::path& stem);

}  // namespace flashslim::bench
