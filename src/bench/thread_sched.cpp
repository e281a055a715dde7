#include "bench/thread_sched.h"

#include <charconv>
#include <fstream>

#include "bench/csv_rows.h"
#include "bench/kernel_file.h"
#include "bench/stats.h"
#include "core/error.h"

namespace flashslim::bench {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kCsvHeader =
    "t_ns,tid,kind,comm,cpu_ns,runq_wait_ns,voluntary_switches,involuntary_switches";

// schedstat: "<ns on a CPU> <ns runnable, waiting for a CPU> <timeslices>".
bool parse_schedstat(std::string_view text, uint64_t& cpu_ns, uint64_t& wait_ns) {
  const char* p = text.data();
  const char* end = p + text.size();
  auto r = std::from_chars(p, end, cpu_ns);
  if (r.ec != std::errc() || r.ptr == end) return false;
  return std::from_chars(r.ptr + 1, end, wait_ns).ec == std::errc();
}

}  // namespace

std::string thread_kind(pid_t pid, int tid, std::string_view comm) {
  if (tid == pid) return "main";
  for (const char* kind : {"fs-compute", "fs-prefetch", "fs-read", "iou-wrk"})
    if (comm.starts_with(kind)) return kind;
  return "other";
}

bool is_compute_kind(std::string_view kind) { return kind == "main" || kind == "fs-compute"; }
bool is_io_kind(std::string_view kind) {
  return kind == "fs-prefetch" || kind == "fs-read" || kind == "iou-wrk";
}

ThreadSampler::ThreadSampler(pid_t pid)
    : pid_(pid), tasks_(fs::path("/proc") / std::to_string(pid) / "task") {}

void ThreadSampler::sample(uint64_t t_ns, std::vector<ThreadSample>& out) {
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(tasks_, error)) {
    const std::string name = entry.path().filename().string();
    int tid = 0;
    if (std::from_chars(name.data(), name.data() + name.size(), tid).ec != std::errc()) continue;
    ThreadSample s;
    const std::optional<std::string> sched = try_read_kernel_file(entry.path() / "schedstat");
    const std::optional<std::string> status = try_read_kernel_file(entry.path() / "status");
    if (!sched || !status || !parse_schedstat(*sched, s.cpu_ns, s.runq_wait_ns))
      continue;  // the thread exited while being read
    auto known = names_.find(tid);
    if (known == names_.end() || thread_kind(pid_, tid, known->second) == "other") {
      const std::optional<std::string> comm = try_read_kernel_file(entry.path() / "comm");
      if (!comm) continue;
      std::string text = comm->substr(0, comm->find('\n'));
      for (char& c : text)
        if (c == ',') c = '_';  // keeps the CSV's columns
      known = names_.insert_or_assign(tid, std::move(text)).first;
    }
    s.t_ns = t_ns;
    s.tid = tid;
    s.comm = known->second;
    s.kind = thread_kind(pid_, tid, s.comm);
    s.voluntary_switches = find_keyed_u64(*status, "voluntary_ctxt_switches").value_or(0);
    s.involuntary_switches = find_keyed_u64(*status, "nonvoluntary_ctxt_switches").value_or(0);
    out.push_back(std::move(s));
  }
}

void write_thread_csv(const fs::path& path, std::span<const ThreadSample> samples) {
  std::ofstream out(path);
  out << kCsvHeader << '\n';
  for (const ThreadSample& s : samples)
    out << s.t_ns << ',' << s.tid << ',' << s.kind << ',' << s.comm << ',' << s.cpu_ns << ','
        << s.runq_wait_ns << ',' << s.voluntary_switches << ',' << s.involuntary_switches << '\n';
  if (!out) fail("cannot write {}", path.string());
}

std::vector<ThreadSample> read_thread_csv(const fs::path& path) {
  std::vector<ThreadSample> samples;
  for_each_csv_row(path, kCsvHeader, [&](const std::vector<std::string_view>& f, size_t line) {
    ThreadSample s;
    s.t_ns = csv_u64(f[0], path, line, "t_ns");
    s.tid = static_cast<int>(csv_u64(f[1], path, line, "tid"));
    s.kind = f[2];
    s.comm = f[3];
    s.cpu_ns = csv_u64(f[4], path, line, "cpu_ns");
    s.runq_wait_ns = csv_u64(f[5], path, line, "runq_wait_ns");
    s.voluntary_switches = csv_u64(f[6], path, line, "voluntary_switches");
    s.involuntary_switches = csv_u64(f[7], path, line, "involuntary_switches");
    samples.push_back(std::move(s));
  });
  return samples;
}

ThreadSchedSeries::ThreadSchedSeries(std::span<const ThreadSample> samples) {
  for (const ThreadSample& s : samples) {
    Thread& t = threads_[s.tid];
    if (!t.t_ns.empty() && s.t_ns <= t.t_ns.back())
      fail("thread {} samples are not in time order ({} ns after {} ns)", s.tid, s.t_ns,
           t.t_ns.back());
    t.kind = s.kind;
    t.t_ns.push_back(s.t_ns);
    t.cpu_ns.push_back(static_cast<double>(s.cpu_ns));
    t.runq_wait_ns.push_back(static_cast<double>(s.runq_wait_ns));
    t.voluntary.push_back(static_cast<double>(s.voluntary_switches));
    t.involuntary.push_back(static_cast<double>(s.involuntary_switches));
  }
}

std::map<std::string, SchedGrowth> ThreadSchedSeries::by_kind(uint64_t from_ns,
                                                              uint64_t to_ns) const {
  std::map<std::string, SchedGrowth> out;
  for (const auto& [tid, t] : threads_) {
    // A thread that ended before the window or started after it took no part in it.
    if (t.t_ns.back() < from_ns || t.t_ns.front() > to_ns) continue;
    SchedGrowth& g = out[t.kind];
    ++g.threads;
    g.cpu_ms += counter_growth(t.t_ns, t.cpu_ns, from_ns, to_ns) / 1e6;
    g.runq_wait_ms += counter_growth(t.t_ns, t.runq_wait_ns, from_ns, to_ns) / 1e6;
    g.voluntary_switches += counter_growth(t.t_ns, t.voluntary, from_ns, to_ns);
    g.involuntary_switches += counter_growth(t.t_ns, t.involuntary, from_ns, to_ns);
  }
  return out;
}

SchedGrowth sum_kinds(const std::map<std::string, SchedGrowth>& by_kind,
                      bool (*member)(std::string_view kind)) {
  SchedGrowth sum;
  for (const auto& [kind, g] : by_kind) {
    if (!member(kind)) continue;
    sum.threads += g.threads;
    sum.cpu_ms += g.cpu_ms;
    sum.runq_wait_ms += g.runq_wait_ms;
    sum.voluntary_switches += g.voluntary_switches;
    sum.involuntary_switches += g.involuntary_switches;
  }
  return sum;
}

}  // namespace flashslim::bench
