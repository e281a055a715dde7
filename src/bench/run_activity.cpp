#include "bench/run_activity.h"

namespace flashslim::bench {
namespace {

using nlohmann::json;

json rate_mbps(double bytes, double busy_ms) {
  return busy_ms > 0 ? json(bytes / 1e6 / (busy_ms / 1e3)) : json();
}

}  // namespace

std::vector<TokenActivity> token_activity(std::span<const TokenLogEntry> log, uint64_t origin_ns,
                                          const ThreadSchedSeries& threads,
                                          std::span<const DiskSample> disk) {
  std::vector<TokenActivity> out;
  for (const TokenLogEntry& e : log) {
    if (e.phase != "decode") continue;
    const uint64_t from = origin_ns + static_cast<uint64_t>(e.t_start_us) * 1000;
    const uint64_t to = from + static_cast<uint64_t>(e.latency_us) * 1000;
    const std::map<std::string, SchedGrowth> kinds = threads.by_kind(from, to);
    const SchedGrowth io = sum_kinds(kinds, is_io_kind);
    const SchedGrowth compute = sum_kinds(kinds, is_compute_kind);
    const DiskGrowth d = disk_growth(disk, from, to);
    out.push_back({static_cast<double>(e.latency_us) / 1000.0, static_cast<double>(e.bytes_read),
                   io.runq_wait_ms, compute.runq_wait_ms, io.involuntary_switches,
                   compute.involuntary_switches, d.busy_ms, d.read_bytes});
  }
  return out;
}

json activity_means(std::span<const TokenActivity> tokens) {
  if (tokens.empty()) return nullptr;
  TokenActivity sum;
  for (const TokenActivity& t : tokens) {
    sum.latency_ms += t.latency_ms;
    sum.bytes_read += t.bytes_read;
    sum.io_runq_ms += t.io_runq_ms;
    sum.compute_runq_ms += t.compute_runq_ms;
    sum.io_involuntary += t.io_involuntary;
    sum.compute_involuntary += t.compute_involuntary;
    sum.disk_busy_ms += t.disk_busy_ms;
    sum.disk_read_bytes += t.disk_read_bytes;
  }
  const double n = static_cast<double>(tokens.size());
  return {{"tokens", tokens.size()},
          {"io_runq_ms", sum.io_runq_ms / n},
          {"compute_runq_ms", sum.compute_runq_ms / n},
          {"io_involuntary", sum.io_involuntary / n},
          {"compute_involuntary", sum.compute_involuntary / n},
          {"disk_busy_share", sum.latency_ms > 0 ? sum.disk_busy_ms / sum.latency_ms : 0.0},
          {"disk_read_mbps", rate_mbps(sum.disk_read_bytes, sum.disk_busy_ms)},
          {"run_share_of_disk_reads",
           sum.disk_read_bytes > 0 ? json(sum.bytes_read / sum.disk_read_bytes) : json()}};
}

json decode_activity_json(const ThreadSchedSeries& threads, std::span<const DiskSample> disk,
                          uint64_t from_ns, uint64_t to_ns) {
  json kinds;
  if (!threads.empty()) {
    kinds = json::object();
    for (const auto& [kind, g] : threads.by_kind(from_ns, to_ns))
      kinds[kind] = {{"threads", g.threads},
                     {"cpu_ms", g.cpu_ms},
                     {"runq_wait_ms", g.runq_wait_ms},
                     {"voluntary_switches", g.voluntary_switches},
                     {"involuntary_switches", g.involuntary_switches}};
  }
  json disk_json;
  if (!disk.empty()) {
    const DiskGrowth d = disk_growth(disk, from_ns, to_ns);
    const double window_ms = static_cast<double>(to_ns - from_ns) / 1e6;
    disk_json = {{"read_bytes", d.read_bytes},
                 {"busy_ms", d.busy_ms},
                 {"busy_share", window_ms > 0 ? d.busy_ms / window_ms : 0.0},
                 {"read_mbps_busy", rate_mbps(d.read_bytes, d.busy_ms)}};
  }
  return {{"by_kind", kinds}, {"disk", disk_json}};
}

}  // namespace flashslim::bench
