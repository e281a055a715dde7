#pragma once
// The profiling sections of `flashslim report`, from summary.json: the harness's own
// per-token overhead, the per-op times per decode token (runs with profile_ops) and the
// eBPF trace of block I/O and page faults per phase (runs with trace).
#include <nlohmann/json.hpp>

#include "bench/report_document.h"

namespace flashslim::bench {

void describe_profiles(ReportDocument& doc, const nlohmann::json& summary);

}  // namespace flashslim::bench
