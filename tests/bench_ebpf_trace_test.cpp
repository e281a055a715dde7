// The eBPF trace: attribution of a hand-written bpftrace output to the phases of a run
// (known counts per phase, other processes' events dropped), and, where bpftrace can run
// (root, tracefs, the tracepoints), a traced run of the real binary on a fixture.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "bench/child_process.h"
#include "bench/ebpf_trace.h"
#include "bench/experiment_runner.h"
#include "bench/kernel_file.h"
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

// A loop device over a sparse file in `dir` whose requests are at most `max_sectors_kb`;
// detached on destruction. `problem` says why it could not be made ("" when it was).
class SmallRequestLoopDevice {
 public:
  SmallRequestLoopDevice(const fs::path& dir, uint64_t size_bytes, int max_sectors_kb) {
    const fs::path backing = dir / "loop-backing";
    std::ofstream(backing).close();
    fs::resize_file(backing, size_bytes);
    const int control = ::open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    if (control < 0) {
      problem = std::string("cannot open /dev/loop-control: ") + std::strerror(errno);
      return;
    }
    const int file = ::open(backing.c_str(), O_RDWR | O_CLOEXEC);
    // LOOP_CTL_GET_FREE's device can be taken by another process before LOOP_SET_FD.
    for (int attempt = 0; attempt < 10 && fd_ < 0; ++attempt) {
      const int n = ::ioctl(control, LOOP_CTL_GET_FREE);
      if (n < 0) break;
      path = "/dev/loop" + std::to_string(n);
      fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
      if (fd_ >= 0 && ::ioctl(fd_, LOOP_SET_FD, file) != 0) {
        ::close(fd_);
        fd_ = -1;
      }
    }
    const int saved_errno = errno;
    ::close(file);
    ::close(control);
    if (fd_ < 0) {
      problem = std::string("cannot attach a loop device: ") + std::strerror(saved_errno);
      return;
    }
    try {
      write_kernel_file(fs::path("/sys/block") / path.filename() / "queue" / "max_sectors_kb",
                        std::to_string(max_sectors_kb));
    } catch (const std::exception& e) {
      problem = e.what();
    }
  }
  ~SmallRequestLoopDevice() {
    if (fd_ < 0) return;
    ::ioctl(fd_, LOOP_CLR_FD);
    ::close(fd_);
  }
  SmallRequestLoopDevice(const SmallRequestLoopDevice&) = delete;
  SmallRequestLoopDevice& operator=(const SmallRequestLoopDevice&) = delete;

  fs::path path;
  std::string problem;

 private:
  int fd_ = -1;
};

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

// One 1 MiB direct read is one bio; the device takes at most 64 KiB per request, so the
// block layer splits it into 16 requests, and all of them are the reader's: the split-off
// parts never pass block_bio_queue (only the first 64 KiB were traced before block_split
// was followed). At least: dd may also read its own binary and libraries from disk.
TEST(EbpfTrace, SplitBiosAreAllTheReadersRequests) {
  if (const std::string problem = ebpf_trace_problem(); !problem.empty())
    GTEST_SKIP() << "no eBPF trace here: " << problem;
  const fs::path dir = fresh_dir("split");
  constexpr uint64_t kReadBytes = 1 << 20;
  SmallRequestLoopDevice device(dir, 2 * kReadBytes, 64);
  if (!device.problem.empty()) GTEST_SKIP() << "no loop device here: " << device.problem;
  EbpfTrace trace(dir / "trace.txt");
  ChildSpec reader;
  reader.argv = {"dd",           "if=" + device.path.string(),
                 "of=/dev/null", "bs=1M",
                 "count=1",      "iflag=direct",
                 "status=none"};
  const ChildResult read = run_child(reader);
  trace.stop();
  ASSERT_TRUE(read.succeeded()) << read.describe();
  const json run = summarize_trace(dir / "trace.txt", read.pid, nullptr)["phases"]["run"];
  EXPECT_GE(run["block_bytes"].get<uint64_t>(), kReadBytes) << run.dump();
  EXPECT_GE(run["block_requests"].get<uint64_t>(), kReadBytes / (64 << 10)) << run.dump();
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
