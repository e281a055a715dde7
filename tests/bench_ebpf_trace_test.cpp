// The eBPF trace: attribution of a hand-written bpftrace output to the phases of a run
// (known counts per phase, other processes' events dropped), and, where bpftrace can run
// (root, tracefs, the tracepoints), a traced run of the real binary on a fixture.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "bench/ebpf_trace.h"
#include "bench/experiment_runner.h"
#include "bench/run_results.h"

using namespace flashslim::bench;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() /
                       ("flashslim-trace-test-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST(EbpfTrace, EventsGoToThePhaseOfTheirTimestamp) {
  const fs::path dir = fresh_dir("summary");
  std::ofstream(dir / "trace.txt") << "Attaching 5 probes...\n"
                                      "ready\n"
                                      // pid 42: one request in load, two in decode
                                      "B 1500000 1600000 42 4096 R\n"
                                      "B 4000000 4300000 42 8192 R\n"
                                      "B 4100000 4200000 42 8192 R\n"
                                      // another process: dropped
                                      "B 4000000 4100000 7 4096 R\n"
                                      "\n"
                                      "@faults[42, 0]: 5\n"
                                      "@faults[42, 2]: 3\n"
                                      // 3..4 ms: a quarter load, the whole
                                      // prefill (0.5 ms), a quarter decode:
                                      // 1.25, 2.5, 1.25 rounded to 1, 3, 1
                                      "@faults[42, 3]: 5\n"
                                      // 4..5 ms: decode; the exit at 5 ms has 2
                                      "@faults[42, 4]: 7\n"
                                      "@faults[42, 5]: 2\n"
                                      "@faults[7, 2]: 100\n"
                                      "Lost 4 events\n";
  const json phases = {
      {"load_ns", 1000000}, {"prefill_ns", 3250000}, {"decode_ns", 3750000}, {"end_ns", 5000000}};
  const json t = summarize_trace(dir / "trace.txt", 42, phases);
  EXPECT_EQ(t["lost_events"], 4);
  const json& p = t["phases"];
  EXPECT_EQ(p["startup"]["page_faults"], 5);
  EXPECT_EQ(p["startup"]["block_requests"], 0);
  EXPECT_TRUE(p["startup"]["block_latency_us"].is_null());
  EXPECT_EQ(p["load"]["block_requests"], 1);
  EXPECT_EQ(p["load"]["block_bytes"], 4096);
  EXPECT_DOUBLE_EQ(p["load"]["block_latency_us"]["max"].get<double>(), 100.0);
  EXPECT_EQ(p["load"]["page_faults"], 3 + 1);
  EXPECT_EQ(p["prefill"]["block_requests"], 0);
  EXPECT_EQ(p["decode"]["block_requests"], 2);
  EXPECT_EQ(p["decode"]["block_bytes"], 16384);
  EXPECT_DOUBLE_EQ(p["decode"]["block_latency_us"]["p50"].get<double>(), 200.0);
  EXPECT_DOUBLE_EQ(p["decode"]["block_latency_us"]["max"].get<double>(), 300.0);
  EXPECT_EQ(p["prefill"]["page_faults"], 3);
  EXPECT_EQ(p["decode"]["page_faults"], 1 + 7);
  EXPECT_EQ(p["exit"]["page_faults"], 2);

  // Without phase marks everything is one phase.
  const json whole = summarize_trace(dir / "trace.txt", 42, nullptr);
  EXPECT_EQ(whole["phases"]["run"]["block_requests"], 3);
  EXPECT_EQ(whole["phases"]["run"]["page_faults"], 22);
}

TEST(EbpfTrace, MalformedBlockLineNamesTheFile) {
  const fs::path dir = fresh_dir("malformed");
  std::ofstream(dir / "trace.txt") << "B 12 x\n";
  try {
    summarize_trace(dir / "trace.txt", 1, nullptr);
    FAIL() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("trace.txt: malformed block event 'B 12 x'"),
              std::string::npos)
        << e.what();
  }
}

TEST(EbpfTrace, TracedRunOfTheRealBinary) {
  if (const std::string problem = ebpf_trace_problem(); !problem.empty())
    GTEST_SKIP() << "no eBPF trace here: " << problem;
  const json document = {
      {"models", {std::string(FLASHSLIM_FIXTURES) + "/aidreams260K/aidreams260K-Q8_0-mixed.gguf"}},
      {"modes", {"mmap"}},
      {"threads", 1},
      {"ctx", 64},
      {"prompt_tokens", 8},
      {"gen_tokens", 8},
      {"repetitions", 1},
      {"warmup", 0},
      {"cold_cache", false},
      {"trace", true}};
  RunnerOptions options;
  options.results_dir = fresh_dir("traced");
  options.flashslim_binary = FLASHSLIM_BIN;
  options.config_text = document.dump();
  const ExperimentOutcome outcome =
      run_experiment(parse_experiment_config(document, "test"), options);
  ASSERT_EQ(outcome.runs_ok, 1u);
  const json record = read_json_file(run_directory(options.results_dir, 0) / "run.json");
  const json& trace = record["trace"];
  ASSERT_FALSE(trace.contains("skipped")) << trace.dump();
  // Loading touches the mapped model and allocates: faults in the load phase; the
  // startup (exec, dynamic linking) faults too.
  EXPECT_GT(trace["phases"]["load"]["page_faults"].get<int>(), 0) << trace.dump(2);
  EXPECT_GT(trace["phases"]["startup"]["page_faults"].get<int>(), 0) << trace.dump(2);
  EXPECT_EQ(trace["lost_events"], 0);
}

}  // namespace
