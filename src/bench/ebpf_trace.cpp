#include "bench/ebpf_trace.h"

#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <vector>

#include "bench/background_load.h"
#include "bench/kernel_file.h"
#include "bench/stats.h"
#include "core/error.h"

namespace flashslim::bench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kTracefs = "/sys/kernel/tracing";
constexpr auto kAttachTimeout = std::chrono::seconds(60);
constexpr int kStopAttempts = 12;
constexpr auto kStopWait = std::chrono::seconds(5);

// $1 = the harness's pid: every process it starts (and their threads, io_uring workers
// included) has it as parent. A block request is the run's when one of its threads
// submitted the request's first bio (block_bio_queue runs in the submitter's context);
// the request itself may be issued later from a kblockd worker, or merged from several
// bios, so issue and completion are matched by device and sector, completions running in
// interrupt context. A bio larger than the device's limits (max_sectors_kb,
// max_segments) is split: the remainder goes on as a bio of its own without passing
// block_bio_queue again (only block_split names its first sector), so block_split hands
// the mark on; without it an mmap run, whose page-cache read-ahead makes bios of up to
// read_ahead_kb, lost the tails of every bio above max_sectors_kb. Bios merged into a
// request that started elsewhere stay in @ours until the end. Faults are counted in in-kernel
// buckets of 1 ms instead of printed one by one (millions in mmap mode).
//
// "ready" cannot come from BEGIN: bpftrace fires BEGIN before it attaches the other
// probes (a run started on BEGIN lost its first faults, ~1 run in 20). It attaches
// tracepoints one by one in the order written, so the last probe below, which answers
// the harness's own page faults, proves every probe above it is attached.
constexpr const char* kScript = R"(
tracepoint:block:block_bio_queue /curtask->real_parent->tgid == $1/ {
  @ours[args->dev, args->sector] = pid;
}
tracepoint:block:block_split /@ours[args->dev, args->sector]/ {
  @ours[args->dev, args->new_sector] = @ours[args->dev, args->sector];
}
tracepoint:block:block_rq_issue /@ours[args->dev, args->sector]/ {
  @issue_ns[args->dev, args->sector] = nsecs;
  @issue_pid[args->dev, args->sector] = @ours[args->dev, args->sector];
  delete(@ours[args->dev, args->sector]);
}
tracepoint:block:block_rq_complete /@issue_ns[args->dev, args->sector]/ {
  printf("B %llu %llu %d %u %s\n", @issue_ns[args->dev, args->sector], nsecs,
         @issue_pid[args->dev, args->sector], args->nr_sector * 512, args->rwbs);
  delete(@issue_ns[args->dev, args->sector]);
  delete(@issue_pid[args->dev, args->sector]);
}
tracepoint:exceptions:page_fault_user /curtask->real_parent->tgid == $1/ {
  @faults[pid, nsecs / 1000000] = count();
}
tracepoint:exceptions:page_fault_user /pid == $1 && @armed == 0/ {
  @armed = 1;
  printf("ready\n");
}
END { clear(@armed); clear(@ours); clear(@issue_ns); clear(@issue_pid); }
)";

// Enough 1 ms fault buckets for an hour-long run (bpftrace's default is 4096 keys).
constexpr const char* kMapKeysMax = "BPFTRACE_MAP_KEYS_MAX=4000000";

std::string file_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// One user page fault in this process: the first write to a fresh anonymous page.
void fault_a_fresh_page() {
  const long page = ::sysconf(_SC_PAGESIZE);
  void* p = ::mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) fail("mmap of one page for the trace handshake: {}", std::strerror(errno));
  *static_cast<volatile char*>(p) = 1;
  ::munmap(p, page);
}

struct PhaseTrace {
  std::vector<double> latency_us;
  uint64_t bytes = 0;
  uint64_t faults = 0;
};

// The script's fault buckets (nsecs / 1000000).
constexpr uint64_t kFaultBucketNs = 1'000'000;

using PhaseStarts = std::vector<std::pair<std::string, uint64_t>>;  // phase, first ns

// Splits the `count` faults of the bucket starting at `begin` between the phases it
// overlaps, in proportion to the overlap, rounded by largest remainder so the parts add
// up to `count`. Giving the whole bucket to the phase its start falls in left a phase
// shorter than a bucket with no faults whenever no millisecond began inside it (the
// fixture's load takes 0.8 ms: TracedRunOfTheRealBinary saw 0 load faults then).
void attribute_fault_bucket(const PhaseStarts& starts, uint64_t begin, uint64_t count,
                            std::map<std::string, PhaseTrace>& by_phase) {
  struct Part {
    PhaseTrace* phase;
    uint64_t faults;
    uint64_t remainder;  // of count × overlap ns / kFaultBucketNs
  };
  std::vector<Part> parts;
  uint64_t given = 0;
  const uint64_t end = begin + kFaultBucketNs;
  for (size_t i = 0; i < starts.size(); ++i) {
    const uint64_t from = std::max(begin, starts[i].second);
    const uint64_t to = i + 1 < starts.size() ? std::min(end, starts[i + 1].second) : end;
    if (from >= to) continue;
    const uint64_t scaled = count * (to - from);
    parts.push_back({&by_phase[starts[i].first], scaled / kFaultBucketNs, scaled % kFaultBucketNs});
    given += parts.back().faults;
  }
  // The remainders add up to (count - given) × kFaultBucketNs and each is below
  // kFaultBucketNs, so count - given < parts.size().
  std::stable_sort(parts.begin(), parts.end(),
                   [](const Part& a, const Part& b) { return a.remainder > b.remainder; });
  for (size_t k = 0; given < count; ++k, ++given) ++parts[k].faults;
  for (const Part& p : parts) p.phase->faults += p.faults;
}

}  // namespace

std::string ebpf_trace_problem() {
  if (!find_in_path("bpftrace")) return "bpftrace is not installed (apt-get install bpftrace)";
  if (::geteuid() != 0) return "bpftrace needs root (CAP_BPF and CAP_PERFMON)";
  const fs::path events = kTracefs / "available_events";
  if (!fs::exists(events) && ::mount("nodev", kTracefs.c_str(), "tracefs", 0, nullptr) != 0)
    return fmt::format("tracefs is not mounted and mounting it at {} failed: {}", kTracefs.string(),
                       std::strerror(errno));
  const std::optional<std::string> available = try_read_kernel_file(events);
  if (!available) return fmt::format("cannot read {}", events.string());
  for (const char* tracepoint :
       {"block:block_bio_queue", "block:block_split", "block:block_rq_issue",
        "block:block_rq_complete", "exceptions:page_fault_user"})
    if (available->find(std::string(tracepoint) + "\n") == std::string::npos)
      return fmt::format("the kernel has no tracepoint {}", tracepoint);
  return "";
}

EbpfTrace::EbpfTrace(const fs::path& output) : output_(output) {
  ChildSpec spec;
  spec.argv = {"env", kMapKeysMax, "bpftrace", "-e", kScript, std::to_string(::getpid())};
  spec.stdout_path = output;
  spec.stderr_path = fs::path(output).replace_extension(".err");
  spec.sample_period = std::chrono::milliseconds(0);
  bpftrace_ = std::make_unique<ChildProcess>(spec);
  const auto deadline = std::chrono::steady_clock::now() + kAttachTimeout;
  for (;;) {
    fault_a_fresh_page();
    if (file_text(output).find("ready\n") != std::string::npos) return;
    const bool exited = bpftrace_->exited_within(std::chrono::milliseconds(50));
    if (exited || std::chrono::steady_clock::now() > deadline) {
      const std::string err = file_text(spec.stderr_path);
      bpftrace_.reset();  // kills and reaps it
      fail("bpftrace {}: {}", exited ? "failed" : "did not attach within 60 s",
           err.empty() ? "(no message)" : err.substr(0, err.find('\n')));
    }
  }
}

void EbpfTrace::stop() {
  if (!bpftrace_) return;
  // bpftrace sometimes misses a SIGINT that arrives while it drains a busy perf buffer
  // (seen with an mmap run's page faults on a loaded machine): repeat it; after a minute
  // the process is killed (wait() kills what is left of its group) and the maps are lost.
  for (int attempt = 0; attempt < kStopAttempts; ++attempt) {
    bpftrace_->signal_group(SIGINT);
    if (bpftrace_->exited_within(kStopWait)) break;
  }
  if (!bpftrace_->exited_within(std::chrono::milliseconds(0))) bpftrace_->signal_group(SIGKILL);
  bpftrace_->wait();
  bpftrace_.reset();
}

json summarize_trace(const fs::path& trace_output, pid_t pid, const json& phases) {
  // Phase boundaries, monotonic ns: startup < load_ns <= load < prefill_ns <= ... .
  PhaseStarts starts;
  if (phases.is_object())
    starts = {{"startup", 0},
              {"load", phases.at("load_ns").get<uint64_t>()},
              {"prefill", phases.at("prefill_ns").get<uint64_t>()},
              {"decode", phases.at("decode_ns").get<uint64_t>()},
              {"exit", phases.at("end_ns").get<uint64_t>()}};
  else
    starts = {{"run", 0}};
  std::map<std::string, PhaseTrace> by_phase;
  for (const auto& [name, ns] : starts) by_phase[name];
  auto phase_of = [&](uint64_t ns) -> PhaseTrace& {
    size_t i = 0;
    while (i + 1 < starts.size() && ns >= starts[i + 1].second) ++i;
    return by_phase[starts[i].first];
  };

  static const std::regex fault_line(R"(^@faults\[(\d+), (\d+)\]: (\d+)$)");
  static const std::regex lost_line(R"(Lost (\d+) events)");
  uint64_t lost = 0;
  std::istringstream lines(file_text(trace_output));
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (line.starts_with("B ")) {
      std::istringstream fields(line.substr(2));
      uint64_t issue = 0, complete = 0, bytes = 0;
      pid_t owner = 0;
      if (!(fields >> issue >> complete >> owner >> bytes))
        fail("{}: malformed block event '{}'", trace_output.string(), line);
      if (owner != pid) continue;
      PhaseTrace& p = phase_of(issue);
      p.latency_us.push_back(static_cast<double>(complete - issue) / 1000);
      p.bytes += bytes;
    } else if (std::regex_match(line, m, fault_line)) {
      if (std::stoi(m[1]) != pid) continue;
      attribute_fault_bucket(starts, std::stoull(m[2]) * kFaultBucketNs, std::stoull(m[3]),
                             by_phase);
    } else if (std::regex_search(line, m, lost_line)) {
      lost += std::stoull(m[1]);
    }
  }

  json out = {{"tool", "bpftrace"},
              {"faults",
               "user page faults, minor and major (exceptions:page_fault_user), "
               "counted in 1 ms buckets, a bucket split between the phases it overlaps "
               "in proportion to the overlap"},
              {"lost_events", lost},
              {"phases", json::object()}};
  for (const auto& [name, ns] : starts) {
    const PhaseTrace& p = by_phase[name];
    json latency = nullptr;
    if (!p.latency_us.empty()) {
      const Summary s = summarize(p.latency_us);
      latency = {{"mean", s.mean}, {"p50", s.p50}, {"p99", s.p99}, {"max", s.max}};
    }
    out["phases"][name] = {{"block_requests", p.latency_us.size()},
                           {"block_bytes", p.bytes},
                           {"block_latency_us", latency},
                           {"page_faults", p.faults}};
  }
  return out;
}

}  // namespace flashslim::bench
