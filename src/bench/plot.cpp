#include "bench/plot.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "bench/background_load.h"  // find_in_path
#include "bench/child_process.h"
#include "core/error.h"

namespace flashslim::bench {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSize = "1000,600";

// gnuplot single-quoted string: only ' needs escaping, as ''.
std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string style_of(SeriesStyle style) {
  switch (style) {
    case SeriesStyle::lines:
      return "lines lw 2";
    case SeriesStyle::points:
      return "points pt 7";
    case SeriesStyle::linespoints:
      return "linespoints lw 2 pt 7";
    case SeriesStyle::dashed:
      return "lines lw 2 dt 2";
  }
  return "lines";
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) fail("cannot write {}", path.string());
}

std::string header(const std::string& title, const std::string& x_label,
                   const std::string& y_label) {
  return fmt::format(
      "set title {}\nset xlabel {}\nset ylabel {}\nset grid\nset key outside right top\n",
      quoted(title), quoted(x_label), quoted(y_label));
}

// Wraps the plot commands so one script renders both formats.
std::string script(const std::string& name, const std::string& setup, const std::string& plot) {
  return fmt::format(
      "# Rendered by flashslim; re-run with: gnuplot {0}.gp (in this directory)\n"
      "set terminal pngcairo size {1} noenhanced\nset output '{0}.png'\n{2}{3}\n"
      "set terminal svg size {1} noenhanced dynamic\nset output '{0}.svg'\nreplot\n"
      "unset output\n",
      name, kSize, setup, plot);
}

void run_gnuplot(const fs::path& stem) {
  const std::optional<fs::path> gnuplot = find_in_path("gnuplot");
  if (!gnuplot)
    fail("gnuplot is not installed (apt-get install gnuplot-nox): cannot draw {}", stem.string());
  const fs::path dir = fs::absolute(stem).parent_path();
  ChildSpec spec;
  // `cd` first, so the script names its files relative to its own directory.
  spec.argv = {gnuplot->string(), "-e", "cd " + quoted(dir.string()),
               stem.filename().string() + ".gp"};
  spec.stdout_path = dir / (stem.filename().string() + ".gnuplot.log");
  spec.stderr_path = spec.stdout_path;
  spec.sample_period = std::chrono::milliseconds(0);
  spec.timeout = std::chrono::seconds(60);
  const ChildResult result = run_child(spec);
  std::ifstream log(spec.stdout_path);
  std::stringstream text;
  text << log.rdbuf();
  if (!result.succeeded())
    fail("gnuplot failed on {}.gp ({}): {}", stem.string(), result.describe(), text.str());
  fs::remove(spec.stdout_path);
}

}  // namespace

void plot_lines(const LinePlot& plot, const fs::path& stem) {
  if (plot.series.empty() && plot.lines.empty()) fail("plot {}: nothing to draw", stem.string());
  const std::string name = stem.filename().string();
  std::string data, commands;
  for (size_t i = 0; i < plot.series.size(); ++i) {
    const Series& s = plot.series[i];
    if (s.x.empty() || s.x.size() != s.y.size())
      fail("plot {}: series '{}' has {} x and {} y values (need the same, at least 1)",
           stem.string(), s.title, s.x.size(), s.y.size());
    data += fmt::format("# {}\n", s.title);
    for (size_t j = 0; j < s.x.size(); ++j)
      data += fmt::format("{:.10g} {:.10g}\n", s.x[j], s.y[j]);
    data += "\n\n";  // gnuplot: two blank lines end a data set (selected with `index`)
    commands +=
        fmt::format("{}'{}.dat' index {} using 1:2 with {} title {}",
                    commands.empty() ? "plot " : ", ", name, i, style_of(s.style), quoted(s.title));
  }
  for (const ReferenceLine& line : plot.lines)
    commands += fmt::format("{}({:.10g} * x + {:.10g}) with lines lw 2 dt 3 title {}",
                            commands.empty() ? "plot " : ", ", line.slope, line.intercept,
                            quoted(line.title));
  std::string setup = header(plot.title, plot.x_label, plot.y_label);
  if (plot.log_x) setup += "set logscale x\n";
  if (plot.log_y) setup += "set logscale y\n";
  write_file(fs::path(stem) += ".dat", data);
  write_file(fs::path(stem) += ".gp", script(name, setup, commands));
  run_gnuplot(stem);
}

void plot_histogram(const Histogram& histogram, const fs::path& stem) {
  if (histogram.values.empty()) fail("histogram {}: no values", stem.string());
  if (histogram.bins < 1) fail("histogram {}: {} bins", stem.string(), histogram.bins);
  const auto [min_it, max_it] =
      std::minmax_element(histogram.values.begin(), histogram.values.end());
  const double low = *min_it;
  // All values equal: one bin of width 1 around them.
  const double width = *max_it > low ? (*max_it - low) / histogram.bins : 1.0;
  std::vector<size_t> counts(histogram.bins, 0);
  for (double v : histogram.values) {
    const size_t bin = std::min<size_t>(static_cast<size_t>((v - low) / width), histogram.bins - 1);
    ++counts[bin];
  }
  const std::string name = stem.filename().string();
  std::string data = "# bin_center count\n";
  for (int b = 0; b < histogram.bins; ++b)
    data += fmt::format("{:.10g} {}\n", low + (b + 0.5) * width, counts[b]);
  std::string setup = header(histogram.title, histogram.x_label, "count");
  // Head room above the tallest bar keeps the marker labels readable.
  setup += fmt::format(
      "set style fill solid 0.6 border -1\nset boxwidth {:.10g} absolute\n"
      "set yrange [0:*]\nset offsets 0, 0, graph 0.12, 0\n",
      width);
  for (const auto& [label, x] : histogram.markers)
    setup += fmt::format(
        "set arrow from {0:.10g}, graph 0 to {0:.10g}, graph 1 nohead dt 2 lw 2 front\n"
        "set label {1} at {0:.10g}, graph 0.95 left offset 0.5,0 front\n",
        x, quoted(label));
  write_file(fs::path(stem) += ".dat", data);
  write_file(fs::path(stem) += ".gp",
             script(name, setup, fmt::format("plot '{}.dat' using 1:2 with boxes notitle", name)));
  run_gnuplot(stem);
}

}  // namespace flashslim::bench
