#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "bench/background_load.h"
#include "bench/plot.h"
#include "core/error.h"

using namespace flashslim::bench;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir() {
  const fs::path dir = fs::temp_directory_path() / ("flashslim-plot-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A PNG starts with \x89PNG\r\n\x1a\n; an SVG document contains an <svg element.
void expect_images(const fs::path& stem) {
  const std::string png = slurp(fs::path(stem) += ".png");
  ASSERT_GT(png.size(), 1000u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_NE(slurp(fs::path(stem) += ".svg").find("<svg"), std::string::npos);
}

}  // namespace

TEST(BenchPlot, LinePlotWithBoundLines) {
  if (!find_in_path("gnuplot")) GTEST_SKIP() << "gnuplot is not installed";
  const fs::path dir = fresh_dir();
  LinePlot plot;
  plot.title = "tokens/s vs budget (it's a test)";  // a quote inside a gnuplot string
  plot.x_label = "budget (% of model)";
  plot.y_label = "tokens/s";
  plot.series = {{"stream", {25, 50, 75}, {4.1, 7.9, 12.0}, SeriesStyle::linespoints},
                 {"mmap", {25, 50, 75}, {1.8, 1.9, 2.2}, SeriesStyle::points},
                 {"bound", {25, 50, 75}, {5, 9, 14}, SeriesStyle::dashed}};
  plot.lines = {{"resident", 0, 16.7}, {"linear", 0.2, 0}};
  plot_lines(plot, dir / "tps");
  expect_images(dir / "tps");
  const std::string data = slurp(dir / "tps.dat");
  EXPECT_NE(data.find("# mmap\n25 1.8\n50 1.9\n75 2.2\n"), std::string::npos) << data;
  EXPECT_NE(slurp(dir / "tps.gp").find("(it''s a test)'"), std::string::npos);
  fs::remove_all(dir);
}

TEST(BenchPlot, HistogramWithMarkers) {
  if (!find_in_path("gnuplot")) GTEST_SKIP() << "gnuplot is not installed";
  const fs::path dir = fresh_dir();
  Histogram h;
  h.title = "per-token latency";
  h.x_label = "ms";
  h.bins = 4;
  h.values = {10, 11, 12, 12.5, 13, 18};  // width (18 - 10) / 4 = 2
  h.markers = {{"p50", 12.25}, {"p99", 17.75}};
  plot_histogram(h, dir / "latency");
  expect_images(dir / "latency");
  // Bins [10,12) [12,14) [14,16) [16,18]: the maximum falls in the last bin.
  EXPECT_EQ(slurp(dir / "latency.dat"), "# bin_center count\n11 2\n13 3\n15 0\n17 1\n");
  fs::remove_all(dir);
}

TEST(BenchPlot, MalformedDataIsAnError) {
  const fs::path dir = fresh_dir();
  LinePlot plot;
  plot.series = {{"bad", {1, 2}, {1}, SeriesStyle::lines}};
  EXPECT_THROW(plot_lines(plot, dir / "bad"), flashslim::Error);
  EXPECT_THROW(plot_histogram(Histogram{}, dir / "empty"), flashslim::Error);
  fs::remove_all(dir);
}
