#include "bench/report_profiles.h"

#include <fmt/format.h>

#include <string>
#include <vector>

#include "model/op_profile.h"

namespace flashslim::bench {
namespace {

using nlohmann::json;

constexpr const char* kPhases[] = {"run", "startup", "load", "prefill", "decode", "exit"};

std::string fixed(const json& value, int decimals) {
  return value.is_number() ? fmt::format("{:.{}f}", value.get<double>(), decimals) : "-";
}

std::string cfg_label(const json& c) {
  return fmt::format("{}: {}", c["config_index"].get<int>(), c["label"].get<std::string>());
}

void describe_overhead(ReportDocument& doc, const json& configurations) {
  std::vector<std::vector<std::string>> rows;
  for (const json& c : configurations)
    if (c.value("harness_overhead", json()).is_number())
      rows.push_back(
          {cfg_label(c), fmt::format("{:.3f} %", c["harness_overhead"].get<double>() * 100)});
  if (rows.empty()) return;
  doc.heading(3, "Cost of the per-token timing");
  doc.paragraph(
      "Time the run spent taking its per-token counters (clock, weight statistics, "
      "getrusage, /proc/self/io in resident and mmap mode), as a share of the generation "
      "time (prefill start to last token), measured by the run itself; mean over runs. "
      "Target: < 1 %.");
  doc.table({"configuration", "overhead"}, rows);
}

void describe_ops(ReportDocument& doc, const json& configurations) {
  std::vector<std::vector<std::string>> rows;
  for (const json& c : configurations) {
    const json& profile = c.value("op_profile", json());
    if (!profile.is_object()) continue;
    const json& per_token = profile["ms_per_token"];
    const double total = per_token.value("total", 0.0);
    std::vector<std::string> row = {cfg_label(c)};
    for (size_t k = 0; k < kOpClassCount; ++k) {
      const json& ms = per_token[std::string(op_class_name(static_cast<OpClass>(k)))];
      row.push_back(ms.is_number() && total > 0 ? fmt::format("{:.3f} ({:.0f} %)", ms.get<double>(),
                                                              ms.get<double>() / total * 100)
                                                : "-");
    }
    row.push_back(fixed(per_token["total"], 3));
    row.push_back(c["latency_ms"].is_object() ? fixed(c["latency_ms"]["mean"], 3) : "-");
    rows.push_back(row);
  }
  if (rows.empty()) return;
  doc.heading(3, "Time per op class per decode token");
  doc.paragraph(
      "Runs with profile_ops (flashslim run --op-profile): wall time of each op of the "
      "forward pass summed per class, ms per decode token (share of the profiled total), mean "
      "over runs. weights = acquiring and releasing each step's weights (waits for streamed "
      "weights, mmap faults on first touch happen inside the ops instead); norm_rope = "
      "RMSNorm, RoPE, residual and bias adds, SwiGLU, KV stores; attn_proj = q/k/v/output "
      "projections; attention = scores, softmax, weighted sum; ffn_proj = gate/up/down; "
      "head = vocabulary projection. The last column is the token latency (sampling "
      "included), for the part outside the forward pass.");
  std::vector<std::string> header = {"configuration"};
  for (size_t k = 0; k < kOpClassCount; ++k)
    header.push_back(std::string(op_class_name(static_cast<OpClass>(k))) + " ms");
  header.push_back("profiled ms");
  header.push_back("token ms");
  doc.table(header, rows);
}

void describe_trace(ReportDocument& doc, const json& configurations) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> skipped;
  for (const json& c : configurations) {
    if (c.contains("trace_skipped"))
      skipped.push_back(cfg_label(c) + ": " + c["trace_skipped"].get<std::string>());
    const json& phases = c.value("trace_phases", json());
    if (!phases.is_object()) continue;
    for (const char* phase : kPhases) {
      if (!phases.contains(phase)) continue;
      const json& p = phases[phase];
      const json& latency = p.value("block_latency_us", json());
      rows.push_back({cfg_label(c), phase, fixed(p["block_requests"], 0),
                      fixed(json(p["block_bytes"].get<double>() / (1 << 20)), 1),
                      latency.is_object() ? fixed(latency["p50"], 0) : "-",
                      latency.is_object() ? fixed(latency["p99"], 0) : "-",
                      latency.is_object() ? fixed(latency["max"], 0) : "-",
                      fixed(p["page_faults"], 0)});
    }
  }
  if (rows.empty() && skipped.empty()) return;
  doc.heading(3, "eBPF trace: block I/O and page faults per phase");
  doc.paragraph(
      "Runs with trace (bpftrace on block:block_rq_issue/complete and "
      "exceptions:page_fault_user, filtered to the run's process). Events are attributed to "
      "the phase whose monotonic-clock interval (written by the run: load, prefill, decode) "
      "holds the request's issue time or the fault's millisecond; startup is before the "
      "model load, exit after the last token. Page faults count minor and major ones. Mean "
      "over runs of: requests, MiB, request latency percentiles (µs, issue to completion, "
      "percentiles per run), faults. The tracer itself costs CPU time: compare latencies "
      "with an untraced run.");
  if (!rows.empty())
    doc.table(
        {"configuration", "phase", "requests", "MiB", "p50 µs", "p99 µs", "max µs", "page faults"},
        rows);
  if (!skipped.empty()) {
    doc.paragraph("Not traced:");
    doc.bullets(skipped);
  }
}

}  // namespace

void describe_profiles(ReportDocument& doc, const json& summary) {
  const json& configurations = summary["configurations"];
  bool any = false;
  for (const json& c : configurations)
    for (const char* key : {"harness_overhead", "op_profile", "trace_phases", "trace_skipped"})
      any = any || !c.value(key, json()).is_null();
  if (!any) return;
  doc.heading(2, "Profiles");
  describe_overhead(doc, configurations);
  describe_ops(doc, configurations);
  describe_trace(doc, configurations);
}

}  // namespace flashslim::bench
