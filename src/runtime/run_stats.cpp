#include "runtime/run_stats.h"

#include <sys/resource.h>

#include <algorithm>
#include <fstream>
#include <string>

#include "storage/io_stats.h"

namespace flashslim {

namespace {

// read_bytes of /proc/self/io: bytes this process caused to be fetched from
// storage (page-fault reads of an mmap'ed file included).
uint64_t proc_read_bytes() {
  std::ifstream in("/proc/self/io");
  std::string key;
  uint64_t value = 0;
  while (in >> key >> value)
    if (key == "read_bytes:") return value;
  return 0;
}

double seconds(uint64_t ns) { return static_cast<double>(ns) * 1e-9; }

}  // namespace

CounterSample sample_counters(const OpenedWeights& weights) {
  CounterSample s;
  s.t_ns = storage::now_ns();
  const WeightStats w = weights.access->stats();
  const bool runtime_reads = weights.mode == WeightMode::Sync || weights.mode == WeightMode::Stream;
  s.bytes_read = runtime_reads ? w.bytes_read : proc_read_bytes();
  s.stalls = w.stalls;
  s.stall_ns = w.stall_ns;
  s.io_busy_ns = w.io_busy_ns;
  s.io_cpu_ns = w.io_cpu_ns;
  s.in_flight_ns = w.in_flight_ns;
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  s.major_faults = static_cast<uint64_t>(usage.ru_majflt);
  return s;
}

// Forward passes per second: n generated tokens take n - 1 decode passes (the first comes
// from prefill's logits), and decode_s times those passes, as llama.cpp's "eval" rate.
double RunSummary::decode_tps() const {
  return decode_s > 0 ? static_cast<double>(decode_passes) / decode_s : 0;
}

double RunSummary::bytes_per_token() const {
  return decode_passes > 0
             ? static_cast<double>(decode_end.bytes_read - decode_start.bytes_read) / decode_passes
             : 0;
}

double RunSummary::read_gbps() const {
  const uint64_t busy = decode_end.io_busy_ns - decode_start.io_busy_ns;
  return busy > 0 ? static_cast<double>(decode_end.bytes_read - decode_start.bytes_read) / busy
                  : 0;  // bytes per ns = GB/s
}

std::vector<double> RunSummary::in_flight_shares() const {
  std::vector<uint64_t> ns = decode_end.in_flight_ns;
  uint64_t total = 0;
  for (size_t k = 0; k < ns.size(); ++k) {
    if (k < decode_start.in_flight_ns.size()) ns[k] -= decode_start.in_flight_ns[k];
    total += ns[k];
  }
  std::vector<double> shares;
  for (uint64_t t : ns)
    shares.push_back(total > 0 ? static_cast<double>(t) / static_cast<double>(total) : 0);
  return shares;
}

double RunSummary::mean_in_flight() const {
  const std::vector<double> shares = in_flight_shares();
  double mean = 0;
  for (size_t k = 0; k < shares.size(); ++k) mean += static_cast<double>(k) * shares[k];
  return mean;
}

double RunSummary::stall_s() const { return seconds(decode_end.stall_ns - decode_start.stall_ns); }

double RunSummary::overlap_ratio() const {
  const uint64_t busy = decode_end.io_busy_ns - decode_start.io_busy_ns;
  if (busy == 0) return 0;
  const uint64_t stall = decode_end.stall_ns - decode_start.stall_ns;
  return 1.0 - static_cast<double>(std::min(stall, busy)) / busy;
}

double RunSummary::compute_s_per_token() const {
  return decode_passes > 0 ? std::max(0.0, decode_s - stall_s()) / decode_passes : 0;
}

double RunSummary::io_cpu_share() const {
  return decode_s > 0 ? seconds(decode_end.io_cpu_ns - decode_start.io_cpu_ns) / decode_s : 0;
}

double RunSummary::bound_tps() const {
  const double t = compute_s_per_token();
  if (t <= 0) return 0;
  double bound = 1.0 / t;
  const double bytes = bytes_per_token();
  if (bytes > 0 && read_gbps() > 0) bound = std::min(bound, read_gbps() * 1e9 / bytes);
  return bound;
}

nlohmann::json token_entry_json(const TokenEntry& e, size_t index, uint64_t origin_ns) {
  return {{"i", index},
          {"phase", e.prefill ? "prefill" : "decode"},
          {"pos", e.pos},
          {"n_tokens", e.n_tokens},
          {"token", e.token},
          {"t_start_us", (e.start.t_ns - origin_ns) / 1000},
          {"latency_us", (e.end.t_ns - e.start.t_ns) / 1000},
          {"stall_us", (e.end.stall_ns - e.start.stall_ns) / 1000},
          {"bytes_read", e.end.bytes_read - e.start.bytes_read},
          {"io_busy_us", (e.end.io_busy_ns - e.start.io_busy_ns) / 1000},
          {"major_faults", e.end.major_faults - e.start.major_faults}};
}

nlohmann::json run_summary_json(const RunSummary& s) {
  nlohmann::json by_class = nlohmann::json::object();
  for (const auto& [name, bytes] : s.weights.resident_by_class) by_class[name] = bytes;
  const double bound = s.bound_tps();
  return {
      {"mode", s.mode},
      {"budget_bytes", s.budget_bytes ? nlohmann::json(*s.budget_bytes) : nlohmann::json()},
      {"threads", s.threads},
      {"ctx", s.ctx},
      {"model_bytes", s.model_bytes},
      {"load_s", s.load_s},
      {"ttft_s", s.ttft_s},
      {"prompt_tokens", s.prompt_tokens},
      {"prefill_s", s.prefill_s},
      {"prompt_tps", s.prefill_s > 0 ? s.prompt_tokens / s.prefill_s : 0},
      {"gen_tokens", s.gen_tokens},
      {"decode_passes", s.decode_passes},
      {"decode_s", s.decode_s},
      {"decode_tps", s.decode_tps()},
      {"stall_s", s.stall_s()},
      {"stalls", s.decode_end.stalls - s.decode_start.stalls},
      {"bytes_read", s.total_bytes_read},
      {"bytes_read_per_token", s.bytes_per_token()},
      {"read_gbps", s.read_gbps()},
      {"overlap_ratio", s.overlap_ratio()},
      {"compute_s_per_token", s.compute_s_per_token()},
      {"io_thread_cpu_share", s.io_cpu_share()},
      {"reads_in_flight_share", s.in_flight_shares()},
      {"bound_tps", bound},
      {"percent_of_bound", bound > 0 ? 100.0 * s.decode_tps() / bound : 0},
      {"resident_bytes", s.weights.resident_bytes},
      {"resident_bytes_by_class", by_class},
      {"slot_bytes", s.weights.slot_bytes},
      {"mlock_ok", s.weights.mlock_ok},
      {"storage", s.weights.storage},
      {"peak_rss_bytes", s.peak_rss_bytes},
      {"memory_accounted_bytes",
       {{"process", s.memory.process},
        {"forward", s.memory.forward},
        {"scratch", s.memory.scratch},
        {"weights", s.memory.weights},
        {"total", s.memory.total()}}},
  };
}

std::string run_summary_text(const RunSummary& s) {
  std::string classes;
  for (const auto& [name, bytes] : s.weights.resident_by_class)
    classes += fmt::format(" {} {}", name, format_bytes(bytes));
  const double bound = s.bound_tps();
  const std::vector<double> in_flight = s.in_flight_shares();
  return fmt::format(
      "memory:   budget {}, accounted {} ({}), peak RSS {}\n"
      "weights:  resident {} ({}), slots {}, mlock {}, storage {}\n"
      "stream:   {:.1f} MiB read per token at {:.2f} GB/s, {} stalls {:.3f} s, overlap {:.0f}%, "
      "I/O thread CPU {:.0f}%, {:.1f} reads in flight on average ({:.0f}% of the time none)\n"
      "bound:    {:.2f} t/s from this run's own compute ({:.1f} ms/token) and read rate, measured "
      "{:.2f} t/s = {:.0f}% of it (scripts/stream_bench.sh uses resident compute and the disk's "
      "bandwidth)\n",
      s.budget_bytes ? format_bytes(*s.budget_bytes) : std::string("none"),
      format_bytes(s.memory.total()), s.memory.describe(), format_bytes(s.peak_rss_bytes),
      format_bytes(s.weights.resident_bytes), classes.empty() ? " none" : classes.substr(1),
      format_bytes(s.weights.slot_bytes), s.weights.mlock_ok ? "yes" : "no", s.weights.storage,
      s.bytes_per_token() / (1 << 20), s.read_gbps(), s.decode_end.stalls - s.decode_start.stalls,
      s.stall_s(), 100 * s.overlap_ratio(), 100 * s.io_cpu_share(), s.mean_in_flight(),
      in_flight.empty() ? 0.0 : 100 * in_flight[0], bound, 1000 * s.compute_s_per_token(),
      s.decode_tps(), bound > 0 ? 100.0 * s.decode_tps() / bound : 0);
}

}  // namespace flashslim
